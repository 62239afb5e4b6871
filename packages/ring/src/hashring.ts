/**
 * Series -> endpoints. Ketama: a consistent ring of virtual tokens, so adding an endpoint moves
 * only the series it now owns; replicas go to distinct endpoints (and distinct zones first when
 * zones are given). Hashmod: Thanos' hash modulo N, accepted for compatibility (it reshuffles
 * most series when N changes).
 */
import { compileRegex, type CompiledRegex, type Labels } from '@strata/model';
import type { EndpointConfig, HashringConfig } from './config.js';
import { hashSeries, hashString } from './hash.js';

export const TOKENS_PER_ENDPOINT = 256;

export class InsufficientEndpointsError extends Error {
  constructor(
    readonly hashring: string,
    readonly endpoints: number,
    readonly replicationFactor: number,
  ) {
    super(`hashring ${hashring} has ${endpoints} endpoint(s), fewer than the replication factor ${replicationFactor}`);
    this.name = 'InsufficientEndpointsError';
  }
}

export interface Hashring {
  readonly name: string;
  readonly endpoints: readonly string[];
  /**
   * The n distinct endpoints a series belongs to, the primary first. The same owners come as
   * the same array (interned per ring and n): callers compare owner sets by identity and must
   * not modify it.
   */
  getN(tenant: string, labels: Labels, n: number): readonly string[];
  /** As getN, from the series' hashSeries(tenant, labels.pairs) computed by the caller. */
  ownersOfHash(hash: number, n: number): readonly string[];
}

/** One array per distinct owner list, so equal owner sets are the same object. */
class OwnerSets {
  private readonly byKey = new Map<string, readonly string[]>();

  intern(owners: string[]): readonly string[] {
    const key = owners.join('\n');
    let got = this.byKey.get(key);
    if (!got) this.byKey.set(key, (got = Object.freeze(owners)));
    return got;
  }
}

export class KetamaHashring implements Hashring {
  readonly endpoints: string[];
  private readonly tokens: Uint32Array;
  private readonly owner: Uint16Array;
  private readonly zones: (string | undefined)[];
  private readonly zoned: boolean;
  private readonly distinctZones: number;
  /**
   * Owners by n and by the token a series hashes to: they depend on nothing else, so the walk
   * along the ring runs once per token (at most endpoints x TOKENS_PER_ENDPOINT per n), not per
   * series, and placing a series allocates nothing.
   */
  private readonly byToken = new Map<number, (readonly string[] | undefined)[]>();
  private readonly sets = new OwnerSets();

  constructor(
    readonly name: string,
    eps: EndpointConfig[],
  ) {
    this.endpoints = eps.map((e) => e.address);
    this.zones = eps.map((e) => e.az);
    this.zoned = this.zones.some((z) => z !== undefined);
    this.distinctZones = new Set(this.zones).size;
    const pairs: [number, number][] = [];
    eps.forEach((e, i) => {
      for (let t = 0; t < TOKENS_PER_ENDPOINT; t++) pairs.push([hashString(`${e.address}:${t}`), i]);
    });
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.tokens = Uint32Array.from(pairs.map((p) => p[0]));
    this.owner = Uint16Array.from(pairs.map((p) => p[1]));
  }

  getN(tenant: string, labels: Labels, n: number): readonly string[] {
    return this.ownersOfHash(hashSeries(tenant, labels.pairs), n);
  }

  ownersOfHash(h: number, n: number): readonly string[] {
    if (n > this.endpoints.length) throw new InsufficientEndpointsError(this.name, this.endpoints.length, n);
    // First token >= h, wrapping around.
    let lo = 0;
    let hi = this.tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tokens[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.tokens.length) lo = 0;
    let owners = this.byToken.get(n);
    if (!owners) this.byToken.set(n, (owners = new Array<readonly string[] | undefined>(this.tokens.length)));
    return (owners[lo] ??= this.sets.intern(this.walk(lo, n)));
  }

  /** The n endpoints clockwise from token `lo`; with zones, those in zones not used yet first while any remain. */
  private walk(lo: number, n: number): string[] {
    const chosen: number[] = [];
    const zonesUsed = new Set<string | undefined>();
    for (let pass = 0; pass < 2 && chosen.length < n; pass++) {
      for (let k = 0; k < this.tokens.length && chosen.length < n; k++) {
        const e = this.owner[(lo + k) % this.tokens.length];
        if (chosen.includes(e)) continue;
        if (this.zoned && pass === 0 && zonesUsed.has(this.zones[e]) && zonesUsed.size < this.distinctZones) continue;
        chosen.push(e);
        zonesUsed.add(this.zones[e]);
      }
    }
    return chosen.map((i) => this.endpoints[i]);
  }
}

export class HashmodHashring implements Hashring {
  readonly endpoints: string[];
  /** Owners by n and by the first endpoint's index (nothing else decides them). */
  private readonly byFirst = new Map<number, (readonly string[] | undefined)[]>();

  constructor(
    readonly name: string,
    eps: EndpointConfig[],
  ) {
    this.endpoints = eps.map((e) => e.address);
  }

  getN(tenant: string, labels: Labels, n: number): readonly string[] {
    return this.ownersOfHash(hashSeries(tenant, labels.pairs), n);
  }

  ownersOfHash(h: number, n: number): readonly string[] {
    if (n > this.endpoints.length) throw new InsufficientEndpointsError(this.name, this.endpoints.length, n);
    const first = h % this.endpoints.length;
    let owners = this.byFirst.get(n);
    if (!owners) this.byFirst.set(n, (owners = new Array<readonly string[] | undefined>(this.endpoints.length)));
    return (owners[first] ??= Object.freeze(Array.from({ length: n }, (_, i) => this.endpoints[(first + i) % this.endpoints.length])));
  }
}

/** floor(RF/2)+1 for every RF: with RF=2 both replicas must answer (no weaker special case). */
export function writeQuorum(replicationFactor: number): number {
  return Math.floor(replicationFactor / 2) + 1;
}

/**
 * A tenant glob as an RE2 regex: the tenant comes from the client's header, and a glob such as
 * `*a*a*a*b` would make a backtracking engine take polynomial time in the tenant's length.
 */
function globToRegex(g: string): CompiledRegex {
  return compileRegex(
    g
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.'),
  );
}

/** Routes a tenant to its hashring as Thanos does: the first ring listing it, else the first ring without tenants. */
export class Hashrings {
  private readonly rings: { cfg: HashringConfig; ring: Hashring; matches: (tenant: string) => boolean }[];
  private readonly byTenant = new Map<string, Hashring | undefined>();

  constructor(readonly config: HashringConfig[]) {
    this.rings = config.map((cfg) => {
      const globs = cfg.tenantMatcherType === 'glob' ? cfg.tenants.map(globToRegex) : [];
      const matches =
        cfg.tenantMatcherType === 'glob' ? (t: string) => globs.some((g) => g.test(t)) : (t: string) => cfg.tenants.includes(t);
      return {
        cfg,
        ring:
          cfg.algorithm === 'hashmod' ? new HashmodHashring(cfg.hashring, cfg.endpoints) : new KetamaHashring(cfg.hashring, cfg.endpoints),
        matches,
      };
    });
  }

  /** Called for every write request, so the answer is remembered (bounded: tenants are few). */
  forTenant(tenant: string): Hashring | undefined {
    if (this.byTenant.has(tenant)) return this.byTenant.get(tenant);
    const ring =
      this.rings.find((r) => r.cfg.tenants.length > 0 && r.matches(tenant))?.ring ??
      this.rings.find((r) => r.cfg.tenants.length === 0)?.ring;
    if (this.byTenant.size < 100_000) this.byTenant.set(tenant, ring);
    return ring;
  }

  /** Each ring with its endpoints and whether it can hold `replicationFactor` distinct replicas. */
  status(replicationFactor: number): { hashring: string; endpoints: string[]; algorithm: string; replicationFactorSatisfied: boolean }[] {
    return this.rings.map(({ cfg }) => ({
      hashring: cfg.hashring,
      endpoints: cfg.endpoints.map((e) => e.address),
      algorithm: cfg.algorithm,
      replicationFactorSatisfied: cfg.endpoints.length >= replicationFactor,
    }));
  }
}
