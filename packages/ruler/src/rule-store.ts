/**
 * Per-tenant rule groups in the bucket, as Mimir lays them out: `rules/<tenant>/<namespace>/<group>`
 * with namespace and group name in URL-safe base64 (Go's padded URLEncoding), so any name, slashes
 * included, is one path segment. An object holds the group as the API received it (YAML or JSON:
 * a Prometheus rule group, the body of POST /config/v1/rules/{namespace}); Mimir stores protobuf
 * there instead, so a Mimir bucket's layout is read but its objects are not.
 */
import type { Bucket } from '@strata/objstore';

export interface StoredGroupRef {
  tenant: string;
  namespace: string;
  name: string;
}

export interface StoredGroup extends StoredGroupRef {
  text: string;
}

const ROOT = 'rules/';

/** Go's base64.URLEncoding (padded), which Mimir's bucket client uses for object names. */
export function encodeName(s: string): string {
  const b = Buffer.from(s, 'utf8').toString('base64url');
  return b + '='.repeat((4 - (b.length % 4)) % 4);
}

/** undefined for a segment that is not padded URL-safe base64 of UTF-8 text (someone else's object). */
export function decodeName(seg: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(seg) || seg.length % 4 !== 0) return undefined;
  const s = Buffer.from(seg, 'base64url').toString('utf8');
  return encodeName(s) === seg ? s : undefined;
}

export class BucketRuleStore {
  constructor(private readonly bucket: Bucket) {}

  private key(tenant: string, namespace: string, name: string): string {
    return `${ROOT}${tenant}/${encodeName(namespace)}/${encodeName(name)}`;
  }

  /**
   * The groups under a prefix of rules/ (every tenant's, a tenant's or a namespace's), sorted by
   * tenant, namespace, name. Recursive listings only: they need no delimiter support from the store.
   */
  private async refs(prefix: string): Promise<StoredGroupRef[]> {
    const out: StoredGroupRef[] = [];
    for await (const n of this.bucket.iter(prefix, { recursive: true })) {
      const parts = n.slice(ROOT.length).split('/');
      if (parts.length !== 3) continue;
      const namespace = decodeName(parts[1]);
      const name = decodeName(parts[2]);
      if (namespace === undefined || name === undefined || parts[0] === '') continue;
      out.push({ tenant: parts[0], namespace, name });
    }
    return out.sort((a, b) => cmp(a.tenant, b.tenant) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
  }

  /** The tenant's groups (of one namespace when given), sorted by namespace, then name. */
  list(tenant: string, namespace?: string): Promise<StoredGroupRef[]> {
    return this.refs(namespace === undefined ? `${ROOT}${tenant}/` : `${ROOT}${tenant}/${encodeName(namespace)}/`);
  }

  /** The group's text, undefined when there is none. */
  async get(tenant: string, namespace: string, name: string): Promise<string | undefined> {
    try {
      return (await this.bucket.get(this.key(tenant, namespace, name))).toString('utf8');
    } catch (e) {
      if (this.bucket.isObjNotFound(e)) return undefined;
      throw e;
    }
  }

  async set(tenant: string, namespace: string, name: string, text: string): Promise<void> {
    await this.bucket.upload(this.key(tenant, namespace, name), Buffer.from(text, 'utf8'));
  }

  /** Whether there was such a group. */
  async delete(tenant: string, namespace: string, name: string): Promise<boolean> {
    const key = this.key(tenant, namespace, name);
    if (!(await this.bucket.exists(key))) return false;
    await this.bucket.delete(key);
    return true;
  }

  /** Deletes every group of the namespace; how many there were. */
  async deleteNamespace(tenant: string, namespace: string): Promise<number> {
    const groups = await this.list(tenant, namespace);
    for (const g of groups) await this.bucket.delete(this.key(tenant, g.namespace, g.name));
    return groups.length;
  }

  /** Every tenant's groups with their text (a group deleted meanwhile is left out). */
  async loadAll(): Promise<StoredGroup[]> {
    const out: StoredGroup[] = [];
    for (const ref of await this.refs(ROOT)) {
      const text = await this.get(ref.tenant, ref.namespace, ref.name);
      if (text !== undefined) out.push({ ...ref, text });
    }
    return out;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
