/**
 * Replication across receivers. A receiver that takes a client write hashes every series to its
 * `replicationFactor` owners on the ring, stores its own share, forwards the rest (one share
 * per peer, concurrently, with a timeout; shares for the same peer within a few milliseconds
 * travel as one request, forward-batcher.ts), and acknowledges once every series reached the
 * write quorum floor(RF/2)+1. Metric metadata goes to the RF owners of the metric's name.
 * Forwarded requests carry a header naming the router and are never forwarded again. The status follows the quorum table in quorum.ts: 400 when a series can never
 * reach the quorum (too many replicas rejected it for good), 503 while a retry could still reach
 * it (timeouts, 5xx; identical re-sends are accepted silently), 429 for rate limits.
 */
import type http from 'node:http';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { Labels, StrataError, toStrataError } from '@strata/model';
import {
  decodeSeriesSelection,
  encodeShare,
  isSelected,
  metricTypeToProto,
  PbWriter,
  RELABELLED_LABELS,
  SERIES_SELECTION_HEADER,
  SHARE_CONTENT_TYPE,
  snappyEncode,
  type MetadataRecord,
  type SeriesRecord,
  type WriteBatch,
} from '@strata/remote';
import { outcomeOf, requestStatus, seriesStatus, type Outcome, type SeriesStatus } from './quorum.js';
import { validateSeries } from './validate.js';
import { encodeParts, ForwardBatcher, PARTS_CONTENT_TYPE, type Part, type PartResult } from './forward-batcher.js';
import type { Writer, WriteResult } from './writer.js';
import { InsufficientEndpointsError, seriesHashSeed, writeQuorum, type Hashring, type Hashrings } from '@strata/ring';
import { NO_WIRE_HASH, wireSeriesHash } from './wire-placement.js';
import { HttpClient } from '@strata/api';
import { LOG_SHARE_CONTENT_TYPE } from '@strata/logs';
import type { ForwardAuth } from './forward-auth.js';
import { Placements } from './forward-placements.js';

export const FORWARDED_HEADER = 'x-strata-forwarded';
/** Where log shares are forwarded: the peer's Loki push route, which tells them apart by FORWARDED_HEADER. */
export const LOG_PUSH_PATH = '/loki/api/v1/push';
/** How long a peer that refused the share encoding (an older version) is sent remote-write 1.0. */
const LEGACY_RETRY_MS = 60_000;

/**
 * Header of a forwarded write's answer: which series of the share the replica rejected for good,
 * as a series selection over the share. The router counts the share's other series as accepted
 * (they were stored), so one bad series does not fail its neighbours' quorum.
 */
export const REJECTED_SERIES_HEADER = 'x-strata-rejected-series';

export interface EndpointResult {
  outcome: Outcome;
  status: number;
  message: string;
  /**
   * With outcome 'bad': the series this endpoint rejected, as bits over the router's batch
   * indices; absent = every series of its share.
   */
  rejected?: Uint8Array;
}

/** Bits over `total` indices with the given ones set. */
export function bitsOf(indices: Iterable<number>, total: number): Uint8Array {
  const bits = new Uint8Array((total + 7) >>> 3);
  for (const i of indices) bits[i >>> 3] |= 1 << (i & 7);
  return bits;
}

export function hasBit(bits: Uint8Array, i: number): boolean {
  return (bits[i >>> 3] & (1 << (i & 7))) !== 0;
}

export interface DistributorOptions {
  rings: () => Hashrings | undefined;
  /** This receiver's address exactly as the hashrings file lists it. */
  self: string;
  replicationFactor: number;
  forwardTimeoutMs: number;
  tenantHeader: string;
  registry: Registry;
  /** TLS and credentials for requests to peers (Prometheus' tls_config/basic_auth/authorization). */
  client?: HttpClient;
  /** Signs forwarded writes so peers can tell them from a client's (see forward-auth.ts). */
  forwardAuth?: ForwardAuth;
  /** How a share reaches a peer: HTTP unless given (tests run peers in-process). */
  forwarder?: Forwarder;
  /**
   * Shares bound for the same peer within `maxDelayMs` travel as one request (up to `maxBytes`);
   * off when absent or maxDelayMs is 0.
   */
  coalesce?: { maxDelayMs: number; maxBytes: number };
}

/**
 * Sends series `indices` of a batch (and the metric metadata `metadata`) to a peer; `v2` says
 * which protocol the client sent (names are validated by its rules).
 */
export type Forwarder = (
  endpoint: string,
  tenant: string,
  batch: WriteBatch,
  indices: number[],
  v2: boolean,
  metadata?: readonly MetadataRecord[],
) => Promise<EndpointResult>;

export interface ReplicateRequest {
  tenant: string;
  batch: WriteBatch;
  v2: boolean;
}

/** The decided answer: an error (the quorum was missed) or what was written. */
export interface Replicated {
  status: number;
  error?: StrataError;
  written?: WriteResult;
}

/** A writer's result for series `indices` of a batch of `total`, as the quorum sees it. */
export function endpointResultOf(r: WriteResult, indices: readonly number[], total: number): EndpointResult {
  const e = r.firstError;
  if (!e) return { outcome: 'ok', status: 204, message: '' };
  const rejected = r.rejected
    ? bitsOf(
        r.rejected.map((k) => indices[k]),
        total,
      )
    : undefined;
  return { outcome: outcomeOf(e.status), status: e.status, message: e.detail, rejected };
}

export class Distributor {
  private readonly client: HttpClient;
  private readonly forwards: Counter<'endpoint' | 'outcome'>;
  private readonly send: Forwarder;
  private readonly batcher: ForwardBatcher | undefined;
  /** Log shares coalesce apart from metric shares: they go to the peer's log push route. */
  private readonly logBatcher: ForwardBatcher | undefined;
  private readonly batchShares: Histogram;

  constructor(readonly opts: DistributorOptions) {
    this.client = opts.client ?? new HttpClient();
    this.send = opts.forwarder ?? ((...a) => this.forward(...a));
    const c = opts.coalesce;
    this.batcher =
      c && c.maxDelayMs > 0 ? new ForwardBatcher({ ...c, send: (ep, tenant, parts) => this.sendParts(ep, tenant, parts) }) : undefined;
    this.logBatcher =
      c && c.maxDelayMs > 0
        ? new ForwardBatcher({ ...c, send: (ep, tenant, parts) => this.sendParts(ep, tenant, parts, LOG_PUSH_PATH) })
        : undefined;
    this.batchShares = new Histogram({
      name: 'strata_receiver_forward_batch_shares',
      help: 'Shares per request forwarded to a replica (coalesced within --receiver.forward-coalesce-delay).',
      buckets: [1, 2, 4, 8, 16, 32],
      registers: [opts.registry],
    });
    this.forwards = new Counter({
      name: 'strata_receiver_forward_requests_total',
      help: 'Remote-write requests forwarded to replica owners, by endpoint and outcome.',
      labelNames: ['endpoint', 'outcome'],
      registers: [opts.registry],
    });
    const rings = opts.rings;
    const rf = opts.replicationFactor;
    new Gauge({
      name: 'strata_hashring_replication_factor_satisfied',
      help: '1 when the hashring has at least as many endpoints as the replication factor.',
      labelNames: ['hashring'],
      registers: [opts.registry],
      collect() {
        for (const s of rings()?.status(rf) ?? []) this.set({ hashring: s.hashring }, s.replicationFactorSatisfied ? 1 : 0);
      },
    });
  }

  /**
   * Router cache, per ring: the wire hash of a series' label bytes (salted with the tenant) ->
   * the byte length and owners. A hit is trusted without comparing the labels: the owners
   * verify every series against their own heads and validate new ones, so a hash collision can
   * only place a series on another series' owners (still RF distinct endpoints, still found by
   * queries, which ask every receiver); it can never store wrong data.
   */
  private placements = new WeakMap<Hashring, Placements>();

  /** The ring serving this tenant, able to hold RF distinct replicas; otherwise a retryable error. */
  ringFor(tenant: string): Hashring {
    const ring = this.opts.rings()?.forTenant(tenant);
    if (!ring)
      throw new StrataError('ring-unavailable', `no hashring serves tenant ${JSON.stringify(tenant)}; check --receiver.hashrings-file`, {
        retryAfter: 5,
      });
    if (ring.endpoints.length < this.opts.replicationFactor) {
      const e = new InsufficientEndpointsError(ring.name, ring.endpoints.length, this.opts.replicationFactor);
      throw new StrataError('ring-unavailable', `${e.message}; writes resume when the ring has enough endpoints`, { retryAfter: 5 });
    }
    return ring;
  }

  /**
   * The fraction of a tenant's series this receiver holds: RF / ring size (each series has RF
   * owners among the ring's endpoints, spread evenly by the hash). 1 without a usable ring.
   */
  seriesShare(tenant: string): number {
    const ring = this.opts.rings()?.forTenant(tenant);
    if (!ring || ring.endpoints.length <= this.opts.replicationFactor) return 1;
    return this.opts.replicationFactor / ring.endpoints.length;
  }

  /** True when every endpoint of the ring owns every series (RF equals the ring's size). */
  ownsEverything(ring: Hashring): boolean {
    return ring.endpoints.length === this.opts.replicationFactor;
  }

  private placementOf(ring: Hashring): Placements {
    let m = this.placements.get(ring);
    if (!m) this.placements.set(ring, (m = new Placements()));
    return m;
  }

  /** Cached owners of a series sent as these label bytes (placement: placementOf(ring)), or undefined. */
  private cachedOwners(placement: Placements, salt: number, s: SeriesRecord): readonly string[] | undefined {
    const length = placementLength(s);
    if (Number.isNaN(length)) return undefined;
    return placement.get(placementHash(s, salt), length);
  }

  /** Remembers the owners of series `placed` of a batch (owners[i] for each) in the ring's placement cache. */
  rememberOwners(
    ring: Hashring,
    salt: number,
    batch: WriteBatch,
    placed: readonly number[],
    owners: readonly (readonly string[] | undefined)[],
  ): void {
    const placement = this.placementOf(ring);
    const series = batch.series;
    for (const i of placed) {
      const s = series[i];
      const length = placementLength(s);
      if (!Number.isNaN(length)) placement.set(placementHash(s, salt), length, owners[i]!);
    }
  }

  get quorum(): number {
    return writeQuorum(this.opts.replicationFactor);
  }

  /**
   * Owners of each series (validated labels or cached owners per index; undefined = skip).
   * Owner lists are interned by the ring (Hashring.getN), so series with the same owners share
   * one array and the quorum decision looks at each distinct owner set once, not at each series.
   */
  plan(
    ring: Hashring,
    tenant: string,
    labels: (Labels | readonly string[] | undefined)[],
  ): { owners: (readonly string[] | undefined)[]; byEndpoint: Map<string, number[]> } {
    const byEndpoint = new Map<string, number[]>();
    for (const ep of ring.endpoints) byEndpoint.set(ep, []);
    // Per distinct owner set, the index lists of its endpoints: one lookup per series, not RF.
    const targets = new Map<readonly string[], number[][]>();
    const owners = new Array<readonly string[] | undefined>(labels.length);
    // The previous series' owner set, checked before the map (a request's series come in runs).
    let lastEps: readonly string[] | undefined;
    let lastT: number[][] = [];
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      if (!l) continue;
      const eps = l instanceof Labels ? ring.getN(tenant, l, this.opts.replicationFactor) : l;
      owners[i] = eps;
      let t = lastT;
      if (eps !== lastEps) {
        const known = targets.get(eps);
        if (known === undefined) targets.set(eps, (t = eps.map((ep) => byEndpoint.get(ep)!)));
        else t = known;
        lastEps = eps;
        lastT = t;
      }
      for (let k = 0; k < t.length; k++) t[k].push(i);
    }
    for (const [ep, idx] of byEndpoint) if (idx.length === 0) byEndpoint.delete(ep);
    return { owners, byEndpoint };
  }

  private metricOwnerSets = new WeakMap<Hashring, Map<string, readonly string[]>>();

  /**
   * The replicas that own a metric's metadata: the RF owners of the metric name hashed as the
   * series {__name__="<name>"} would be. Its series are spread over the whole ring; its metadata
   * is kept by RF receivers, so the querier's merge answers the same with any one of them down.
   */
  metricOwners(ring: Hashring, tenant: string, metric: string): readonly string[] {
    let m = this.metricOwnerSets.get(ring);
    if (!m) this.metricOwnerSets.set(ring, (m = new Map()));
    const key = `${tenant}\n${metric}`;
    let owners = m.get(key);
    if (!owners) {
      if (m.size > 100_000) m.clear();
      owners = ring.getN(tenant, Labels.fromPairs(['__name__', metric]), this.opts.replicationFactor);
      m.set(key, owners);
    }
    return owners;
  }

  /**
   * The request's metric metadata by owning endpoint: remote-write 1.0 `metadata` entries and
   * 2.0 series metadata (metadata-only series included), each metric once per request.
   */
  placeMetadata(ring: Hashring, tenant: string, batch: WriteBatch): Map<string, MetadataRecord[]> {
    const out = new Map<string, MetadataRecord[]>();
    const seen = new Set<string>();
    const place = (r: MetadataRecord) => {
      if (!r.metricFamilyName || seen.has(r.metricFamilyName)) return;
      seen.add(r.metricFamilyName);
      for (const ep of this.metricOwners(ring, tenant, r.metricFamilyName)) {
        let l = out.get(ep);
        if (!l) out.set(ep, (l = []));
        l.push(r);
      }
    };
    for (const r of batch.metadata) place(r);
    for (const s of batch.series) {
      const md = s.metadata;
      if (!md || (md.type === 'unknown' && md.help === '' && md.unit === '')) continue;
      let name: string;
      try {
        name = metricNameOf(batch.labelsOf(s));
      } catch {
        continue; // undecodable labels: the series is rejected where it is validated
      }
      if (name && !seen.has(name)) place({ metricFamilyName: name, type: md.type, help: md.help, unit: md.unit });
    }
    return out;
  }

  /**
   * A share of a batch as a remote-write 1.0 body, for peers that do not read the share encoding
   * (older versions). From a 1.0 request the share is the client's
   * own TimeSeries bytes, concatenated; otherwise (2.0 symbol references) it is re-encoded, with
   * the label bytes copied where the client sent them contiguously and values as raw bits.
   */
  encodeShare(batch: WriteBatch, indices: number[], metadata: readonly MetadataRecord[] = []): Buffer {
    let total = 0;
    for (const i of indices) {
      const s = batch.series[i];
      if (s.messageStart < 0) return this.reencodeShare(batch, indices, metadata);
      total += s.messageEnd - s.messageStart;
    }
    const md = metadata.length > 0 ? encodeMetadata(metadata) : undefined;
    const out = Buffer.allocUnsafe(total + (md?.length ?? 0));
    let at = 0;
    for (const i of indices) {
      const s = batch.series[i];
      at += batch.raw.copy(out, at, s.messageStart, s.messageEnd);
    }
    md?.copy(out, at);
    return out;
  }

  private reencodeShare(batch: WriteBatch, indices: number[], metadata: readonly MetadataRecord[]): Buffer {
    const w = new PbWriter(4096);
    const vb = new Uint8Array(batch.values.buffer, batch.values.byteOffset, batch.values.length * 8);
    for (const i of indices) {
      const s = batch.series[i];
      w.message(1, () => {
        // Label bytes are copied only from a client's request: in a batch decoded from a forwarded
        // share the range indexes the share's label fields, not bytes.
        if (s.labelsStart >= 0 && !batch.labelFields) w.raw(batch.raw.subarray(s.labelsStart, s.labelsEnd));
        else {
          const p = Labels.fromPairs(batch.labelsOf(s)).pairs;
          for (let k = 0; k < p.length; k += 2) {
            w.message(1, () => {
              w.string(1, p[k]);
              w.string(2, p[k + 1]);
            });
          }
        }
        for (let k = s.sampleStart; k < s.sampleEnd; k++) {
          w.message(2, () => {
            w.doubleBytes(1, vb, k * 8);
            w.int64(2, batch.timestamps[k]);
          });
        }
      });
    }
    writeMetadata(w, metadata);
    return w.finish();
  }

  /**
   * Sends a share of a batch to a peer; network errors and timeouts are 'unavailable'. The share
   * travels in the internal encoding (forwarded-share.ts): the peer reads the router's decoded
   * series instead of decompressing and parsing the client's request again. A peer that does not
   * know that encoding yet (415: a rolling upgrade) gets remote-write 1.0 for a while instead.
   */
  async forward(
    endpoint: string,
    tenant: string,
    batch: WriteBatch,
    indices: number[],
    v2: boolean,
    metadata: readonly MetadataRecord[] = [],
  ): Promise<EndpointResult> {
    const legacy = (this.legacyPeers.get(endpoint) ?? 0) > Date.now();
    let answer = await this.sendPart(
      endpoint,
      tenant,
      legacy ? this.legacyPart(batch, indices, metadata) : this.sharePart(batch, indices, metadata, v2),
    );
    if (!legacy && answer.status === 415) {
      this.legacyPeers.set(endpoint, Date.now() + LEGACY_RETRY_MS);
      answer = await this.sendPart(endpoint, tenant, this.legacyPart(batch, indices, metadata));
    }
    const total = batch.series.length;
    const result: EndpointResult = { outcome: outcomeOf(answer.status), status: answer.status, message: answer.message };
    if (result.outcome === 'bad' && answer.rejected !== undefined) result.rejected = rejectedOf(answer.rejected, indices, total);
    this.forwards.inc({ endpoint, outcome: result.outcome });
    return result;
  }

  /**
   * Sends a log share (streams `indices` of a push of `total`, encoded as LOG_SHARE_CONTENT_TYPE)
   * to a peer's log push route, signed, timed out and coalesced as metric shares are.
   */
  async forwardLogShare(
    endpoint: string,
    tenant: string,
    body: Buffer,
    indices: readonly number[],
    total: number,
  ): Promise<EndpointResult> {
    const part: Part = { body, contentType: LOG_SHARE_CONTENT_TYPE };
    const answer = await (this.logBatcher
      ? this.logBatcher.enqueue(endpoint, tenant, part)
      : this.sendParts(endpoint, tenant, [part], LOG_PUSH_PATH).then((r) => r[0]));
    const result: EndpointResult = { outcome: outcomeOf(answer.status), status: answer.status, message: answer.message };
    if (result.outcome === 'bad' && answer.rejected !== undefined) result.rejected = rejectedOf(answer.rejected, indices, total);
    this.forwards.inc({ endpoint, outcome: result.outcome });
    return result;
  }

  /** Peers that answered a share with 415, until when they get remote-write 1.0 instead. */
  private readonly legacyPeers = new Map<string, number>();
  /** The last share encoded per batch: with RF equal to the ring size every peer gets the same one. */
  private readonly lastShare = new WeakMap<WriteBatch, { indices: number[]; metadata: readonly MetadataRecord[]; body: Buffer }>();

  private sharePart(batch: WriteBatch, indices: number[], metadata: readonly MetadataRecord[], v2: boolean): Part {
    const last = this.lastShare.get(batch);
    if (last && last.indices === indices && last.metadata === metadata) return { body: last.body, contentType: SHARE_CONTENT_TYPE };
    const body = encodeShare(batch, indices, metadata, v2);
    this.lastShare.set(batch, { indices, metadata, body });
    return { body, contentType: SHARE_CONTENT_TYPE };
  }

  private legacyPart(batch: WriteBatch, indices: number[], metadata: readonly MetadataRecord[]): Part {
    return { body: snappyEncode(this.encodeShare(batch, indices, metadata)), contentType: 'application/x-protobuf' };
  }

  private sendPart(endpoint: string, tenant: string, part: Part): Promise<PartResult> {
    return this.batcher ? this.batcher.enqueue(endpoint, tenant, part) : this.sendParts(endpoint, tenant, [part]).then((r) => r[0]);
  }

  /**
   * One HTTP request to a peer: a single part as an ordinary remote-write request, several as a
   * batch (forward-batcher.ts). Network errors and timeouts are status 0 (unavailable).
   */
  private async sendParts(endpoint: string, tenant: string, parts: Part[], route = '/api/v1/write'): Promise<PartResult[]> {
    // The forwarded header names this receiver: peers learn who takes client traffic (ingestion-rate.ts).
    const headers: http.OutgoingHttpHeaders = { [FORWARDED_HEADER]: this.opts.self, [this.opts.tenantHeader]: tenant };
    let body: Buffer;
    this.batchShares.observe(parts.length);
    if (parts.length === 1) {
      const p = parts[0];
      body = p.body;
      if (p.contentType !== SHARE_CONTENT_TYPE) headers['Content-Encoding'] = 'snappy';
      headers['Content-Type'] = p.contentType;
      if (p.selection !== undefined) headers[SERIES_SELECTION_HEADER] = p.selection;
    } else {
      body = encodeParts(parts);
      headers['Content-Type'] = PARTS_CONTENT_TYPE;
    }
    headers['Content-Length'] = body.length;
    this.opts.forwardAuth?.sign(headers, tenant, body);
    const url = this.client.urlOf(endpoint);
    const timeoutMs = this.opts.forwardTimeoutMs;
    const res = await new Promise<{ status: number; text: string; rejected?: string }>((resolve) => {
      // One plain timer per request, cleared on the answer: AbortSignal.timeout costs a signal, a
      // weak reference and a finalizer each, a measurable share of a forward at thousands a second.
      let timer: NodeJS.Timeout | undefined;
      const done = (r: { status: number; text: string; rejected?: string }) => {
        clearTimeout(timer);
        resolve(r);
      };
      const req = this.client.request(`${url}${route}`, { method: 'POST', headers }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          const named = res.headers[REJECTED_SERIES_HEADER];
          done({ status: res.statusCode ?? 0, text, rejected: typeof named === 'string' ? named : undefined });
        });
        res.on('error', (e) => done({ status: 0, text: `${endpoint}: ${e.message}` }));
        // Cut off mid-answer (the timeout, a peer gone): no acknowledgement.
        res.on('close', () => res.complete || done({ status: 0, text: `${endpoint}: the answer was cut off` }));
      });
      // Unreferenced, as AbortSignal.timeout's: a pending forward never holds the process open by itself.
      timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms (--receiver.forward-timeout)`)), timeoutMs).unref();
      req.on('error', (e) => done({ status: 0, text: `${endpoint}: ${e.message}` }));
      req.end(body);
    });
    if (parts.length === 1) return [{ status: res.status, message: res.text.trim(), rejected: res.rejected }];
    if (res.status === 200) {
      try {
        const answers = JSON.parse(res.text) as PartResult[];
        if (Array.isArray(answers) && answers.length === parts.length) return answers;
      } catch {
        // fall through: an answer we cannot read is no acknowledgement
      }
      return parts.map(() => ({ status: 0, message: `${endpoint}: unreadable answer to a forwarded batch` }));
    }
    // The whole batch was refused (overload, a peer too old to know batches): each part was.
    return parts.map(() => ({ status: res.status, message: res.text.trim() }));
  }

  /**
   * Decides the answer from each endpoint's result with the quorum table (quorum.ts), series by
   * series: a series counts as rejected by an endpoint that answered 4xx only if that endpoint
   * named it among its rejected series (or named none). The first series that decides the
   * status gives the reason.
   */
  decide(owners: (readonly string[] | undefined)[], results: Map<string, EndpointResult>): { status: number; error?: StrataError } {
    // Every endpoint accepted its whole share (the usual case): each series has all its owners'
    // acknowledgements, so no series needs a look.
    let allOk = true;
    for (const r of results.values()) if (r.outcome !== 'ok') allOk = false;
    if (allOk) return { status: 204 };
    const quorum = this.quorum;
    let status: SeriesStatus = 204;
    let bad: EndpointResult | undefined;
    let limited: EndpointResult | undefined;
    let unavailable: EndpointResult | undefined;
    // Series with the same owners and no per-series verdict among them share one decision.
    const bySet = new Map<readonly string[], SeriesStatus>();
    const outcomes: Outcome[] = [];
    for (let i = 0; i < owners.length; i++) {
      const eps = owners[i];
      if (!eps) continue;
      let st = bySet.get(eps);
      if (st === undefined) {
        let perSeries = false;
        outcomes.length = eps.length;
        for (let k = 0; k < eps.length; k++) {
          const r = results.get(eps[k])!;
          outcomes[k] = r.outcome;
          if (r.outcome === 'bad' && r.rejected) {
            perSeries = true;
            if (!hasBit(r.rejected, i)) outcomes[k] = 'ok';
          }
        }
        st = seriesStatus(outcomes, quorum);
        if (!perSeries) bySet.set(eps, st);
        if (st !== 204) {
          const reason = (o: Outcome) => eps.map((ep) => results.get(ep)!).find((r, k) => outcomes[k] === o && r.outcome === o);
          if (st === 400) bad ??= reason('bad');
          else if (st === 429) limited ??= reason('limited');
          else unavailable ??= reason('unavailable');
        }
      }
      status = requestStatus(status, st);
    }
    if (status === 503)
      return {
        status,
        error: new StrataError(
          'write-quorum-not-reached',
          `fewer than ${quorum} of ${this.opts.replicationFactor} replicas acknowledged some series (last failure: ${unavailable!.message || `HTTP ${unavailable!.status}`}); retry`,
          { retryAfter: 1 },
        ),
      };
    if (status === 429)
      return { status, error: new StrataError('ingestion-rate-limited', limited!.message, { status: 429, retryAfter: 1 }) };
    if (status === 400)
      return {
        status: bad!.status,
        error: new StrataError('invalid-request-body', bad!.message.replace(/ \(err-strata-[a-z-]+\)$/, ''), { status: bad!.status }),
      };
    return { status };
  }

  /**
   * Replicates a client's write: each series to its owners (this receiver's share through
   * `local`), answered at write quorum. The router validates only series it has not placed
   * before; owners validate whatever is new to their heads.
   */
  async replicate(req: ReplicateRequest, local: Writer): Promise<Replicated> {
    const { tenant, batch, v2 } = req;
    const ring = this.ringFor(tenant);
    if (this.ownsEverything(ring)) return this.replicateEverywhere(req, ring.endpoints, local);
    const limits = local.tenantLimits(tenant);
    const salt = tenantSalt(tenant);
    let firstError: StrataError | undefined;
    let valid = 0;
    const placed: number[] = [];
    const placement = this.placementOf(ring);
    let validHistograms = 0;
    let placedExemplars = 0;
    // A client's remote-write 1.0 label bytes (2.0 sends symbol references; a share, field references).
    const wire = !v2 && !batch.labelFields;
    const seed = seriesHashSeed(tenant);
    const rf = this.opts.replicationFactor;
    const labels = batch.series.map((s, i) => {
      // A series sent with exemplars only (Prometheus sends them apart from samples) goes to its owners too.
      if (s.sampleEnd === s.sampleStart && s.histograms === 0 && !s.exemplarList) return undefined;
      const cached = this.cachedOwners(placement, salt, s);
      if (cached) {
        valid += s.sampleEnd - s.sampleStart;
        validHistograms += s.histograms;
        placedExemplars += s.exemplars;
        return cached;
      }
      // New to this router: placed from the client's label bytes when they are plainly valid.
      if (wire && s.labelsStart >= 0) {
        const h = wireSeriesHash(seed, batch.raw, s.labelsStart, s.labelsEnd, limits);
        if (h !== NO_WIRE_HASH) {
          valid += s.sampleEnd - s.sampleStart;
          validHistograms += s.histograms;
          placedExemplars += s.exemplars;
          placed.push(i);
          return ring.ownersOfHash(h, rf);
        }
      }
      let l;
      try {
        l = validateSeries(batch.labelsOf(s), limits, v2);
      } catch (e) {
        l = toStrataError(e);
      }
      if (l instanceof StrataError) {
        // Exemplars sent alone join an existing series only, and no series has these labels:
        // dropped as an owner drops them, without failing the request (as on a single receiver).
        if (s.sampleEnd === s.sampleStart && s.histograms === 0) {
          local.discardExemplars(tenant, 'exemplar_series_missing', s.exemplars);
          return undefined;
        }
        local.discard(tenant, l.id, s.sampleEnd - s.sampleStart + s.histograms);
        firstError ??= l;
        return undefined;
      }
      valid += s.sampleEnd - s.sampleStart;
      validHistograms += s.histograms;
      placedExemplars += s.exemplars;
      placed.push(i);
      return l;
    });
    const { owners, byEndpoint } = this.plan(ring, tenant, labels);
    this.rememberOwners(ring, salt, batch, placed, owners);
    // Metadata follows its metric to the metric's owners, with or without series for them.
    const metadata = this.placeMetadata(ring, tenant, batch);
    for (const ep of metadata.keys()) if (!byEndpoint.has(ep)) byEndpoint.set(ep, []);
    const results = new Map<string, EndpointResult>();
    const total = batch.series.length;
    await Promise.all(
      [...byEndpoint].map(async ([ep, idx]) => {
        const md = metadata.get(ep) ?? [];
        if (ep === this.opts.self) {
          // The router keeps the request's 1.0 metadata whatever its share; 2.0 metadata it owns joins it.
          const share = batch.subset(idx);
          if (v2) share.metadata = [...batch.metadata, ...md];
          results.set(ep, (await this.writeLocal(local, tenant, share, v2, idx, total)).result);
          return;
        }
        // Series the router rejected are in no endpoint's share.
        results.set(ep, await this.send(ep, tenant, batch, idx, v2, md));
      }),
    );
    const decision = this.decide(owners, results);
    if (decision.error) return decision;
    return {
      status: firstError?.status ?? 204,
      // Histograms the replicas refused (invalid ones) fail the request; counted here are those placed.
      written: {
        samplesWritten: valid,
        histogramsWritten: validHistograms,
        histogramsRejected: batch.numHistograms - validHistograms,
        // Placed exemplars the replicas dropped (resent, out of order) are not counted back.
        exemplarsRejected: batch.numExemplars - placedExemplars,
        exemplarsWritten: placedExemplars,
        firstError,
      },
    };
  }

  /**
   * RF equals the ring's size, so every endpoint owns every series: the client's body goes to
   * each peer unchanged and no series is placed or validated at the router. Each owner ingests
   * it exactly as a single receiver would, partial rejections included.
   */
  private async replicateEverywhere(req: ReplicateRequest, endpoints: readonly string[], local: Writer): Promise<Replicated> {
    const { tenant, batch, v2 } = req;
    const all = batch.series.map((_, i) => i);
    const results = new Map<string, EndpointResult>();
    let mine: WriteResult | undefined;
    await Promise.all(
      endpoints.map(async (ep) => {
        if (ep !== this.opts.self) {
          results.set(ep, await this.send(ep, tenant, batch, all, v2, batch.metadata));
          return;
        }
        const r = await this.writeLocal(local, tenant, batch, v2, all, all.length);
        mine = r.written;
        results.set(ep, r.result);
      }),
    );
    const decision = this.decide(
      all.map(() => endpoints),
      results,
    );
    if (decision.error) {
      // Bad data: the local verdict names the series and its error ID better than a peer's text.
      const own = (mine as WriteResult | undefined)?.firstError;
      return { status: decision.status, error: own && decision.status === own.status ? own : decision.error };
    }
    // Quorum reached: a rejection by this replica alone (its own series limit, say) is outvoted.
    const written: WriteResult = mine
      ? { ...(mine as WriteResult), firstError: undefined, rejected: undefined }
      : {
          samplesWritten: batch.numSamples,
          histogramsWritten: batch.numHistograms,
          histogramsRejected: 0,
          exemplarsRejected: batch.numExemplars,
        };
    return { status: 204, written };
  }

  /** This receiver's own share (series `indices` of a batch of `total`) as an endpoint result. */
  private async writeLocal(
    local: Writer,
    tenant: string,
    share: WriteBatch,
    v2: boolean,
    indices: number[],
    total: number,
  ): Promise<{ result: EndpointResult; written?: WriteResult }> {
    try {
      const r = await local.write(tenant, share, v2);
      return { written: r, result: endpointResultOf(r, indices, total) };
    } catch (e) {
      const err = toStrataError(e);
      return { result: { outcome: outcomeOf(err.status), status: err.status, message: err.detail } };
    }
  }

  /**
   * The first ring owner of a series (this receiver's name without a usable ring): where
   * streaming aggregation counts an input series, and where an output group is merged. `rings`
   * asks an earlier version of the rings (streaming aggregation asks where a series was before a change).
   */
  primaryOwner(tenant: string, labels: Labels, rings: Hashrings | undefined = this.opts.rings()): string {
    const ring = rings?.forTenant(tenant);
    if (!ring || ring.endpoints.length === 0) return this.opts.self;
    return ring.getN(tenant, labels, Math.min(this.opts.replicationFactor, ring.endpoints.length))[0];
  }

  /** Posts an internal body (snappy-compressed, signed like a forwarded write) to a peer's write endpoint. */
  async postInternal(endpoint: string, tenant: string, contentType: string, body: Buffer): Promise<PartResult> {
    return (await this.sendParts(endpoint, tenant, [{ body: snappyEncode(body), contentType }]))[0];
  }

  close(): void {
    this.batcher?.flushAll();
    this.logBatcher?.flushAll();
    this.client.close();
  }
}

/** A replica's rejected-series selection (over its share) as bits over the router's indices. */
function rejectedOf(header: string, indices: readonly number[], total: number): Uint8Array | undefined {
  try {
    const sel = decodeSeriesSelection(header);
    if (sel.total !== indices.length) return undefined;
    const out = new Uint8Array((total + 7) >>> 3);
    for (let k = 0; k < indices.length; k++) if (isSelected(sel, k)) out[indices[k] >>> 3] |= 1 << (indices[k] & 7);
    return out;
  } catch {
    return undefined; // unreadable: the whole share counts as rejected, as without the header
  }
}

function metricNameOf(pairs: readonly string[]): string {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === '__name__') return pairs[i + 1];
  return '';
}

/** WriteRequest.metadata (field 3) entries, as remote-write 1.0 carries them. */
function writeMetadata(w: PbWriter, metadata: readonly MetadataRecord[]): void {
  for (const m of metadata) {
    w.message(3, () => {
      w.uint(1, metricTypeToProto(m.type));
      w.string(2, m.metricFamilyName);
      w.string(4, m.help);
      w.string(5, m.unit);
    });
  }
}

function encodeMetadata(metadata: readonly MetadataRecord[]): Buffer {
  const w = new PbWriter(256);
  writeMetadata(w, metadata);
  return w.finish();
}

/**
 * A series' identity in the placement cache, without allocating: its wire hash and byte length
 * as sent, or for a series relabelled at ingest the hash of its new pairs (salted apart) and a
 * negative length from their count, so the two kinds never answer for each other. NaN: neither.
 */
function placementLength(s: SeriesRecord): number {
  if (s.labelsStart >= 0) return s.labelsEnd - s.labelsStart;
  return s.labelsStart === RELABELLED_LABELS ? -1 - s.labels.length : NaN;
}

function placementHash(s: SeriesRecord, salt: number): number {
  return s.labelsStart === RELABELLED_LABELS ? s.labelsHash ^ salt ^ 0x5bd1e995 : s.labelsHash ^ salt;
}

export function tenantSalt(tenant: string): number {
  let h = 0x9e3779b9;
  for (let i = 0; i < tenant.length; i++) h = Math.imul(h ^ tenant.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
