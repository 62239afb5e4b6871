/** Thanos' hashrings.json: which endpoints serve which tenants, and with which algorithm. */
export interface EndpointConfig {
  address: string;
  az?: string;
}

export interface HashringConfig {
  hashring: string;
  tenants: string[];
  tenantMatcherType: 'exact' | 'glob';
  endpoints: EndpointConfig[];
  algorithm: 'ketama' | 'hashmod';
}

export class HashringConfigError extends Error {}

export function parseHashrings(text: string, where = 'hashrings'): HashringConfig[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new HashringConfigError(`${where}: not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(doc) || doc.length === 0) throw new HashringConfigError(`${where}: expected a non-empty array of hashrings`);
  return doc.map((h: unknown, i) => {
    // Every shape is checked: a null or a number where an object belongs is a config error, not a TypeError.
    if (h === null || typeof h !== 'object' || Array.isArray(h)) throw new HashringConfigError(`${where}: hashring ${i} is not an object`);
    const ring = h as Record<string, unknown>;
    const name = String(ring.hashring ?? `hashring-${i}`);
    const eps = Array.isArray(ring.endpoints) ? ring.endpoints : [];
    if (eps.length === 0) throw new HashringConfigError(`${where}: hashring ${name} has no endpoints`);
    const endpoints: EndpointConfig[] = eps.map((e: unknown) => endpoint(e, name, where));
    const seen = new Set<string>();
    for (const e of endpoints) {
      if (!e.address || e.address === 'undefined')
        throw new HashringConfigError(`${where}: hashring ${name} has an endpoint without an address`);
      if (seen.has(e.address)) throw new HashringConfigError(`${where}: hashring ${name} lists endpoint ${e.address} twice`);
      seen.add(e.address);
    }
    const algorithm = String(ring.algorithm ?? 'ketama');
    if (algorithm !== 'ketama' && algorithm !== 'hashmod')
      throw new HashringConfigError(`${where}: hashring ${name} has unknown algorithm ${JSON.stringify(algorithm)} (ketama or hashmod)`);
    const tmt = String(ring.tenant_matcher_type ?? 'exact');
    if (tmt !== 'exact' && tmt !== 'glob')
      throw new HashringConfigError(`${where}: hashring ${name} has unknown tenant_matcher_type ${JSON.stringify(tmt)}`);
    const tenants = ring.tenants ?? [];
    if (!Array.isArray(tenants) || tenants.some((t) => typeof t !== 'string'))
      throw new HashringConfigError(`${where}: hashring ${name} has tenants that are not a list of strings`);
    return { hashring: name, tenants: tenants as string[], tenantMatcherType: tmt, endpoints, algorithm };
  });
}

/** An endpoint is "host:port" or { address, az }. */
function endpoint(e: unknown, ring: string, where: string): EndpointConfig {
  if (typeof e === 'string') return { address: e };
  if (e === null || typeof e !== 'object' || Array.isArray(e))
    throw new HashringConfigError(`${where}: hashring ${ring} has an endpoint that is neither a string nor an object`);
  const { address, az } = e as Record<string, unknown>;
  if (typeof address !== 'string') throw new HashringConfigError(`${where}: hashring ${ring} has an endpoint without an address`);
  if (az !== undefined && typeof az !== 'string')
    throw new HashringConfigError(`${where}: hashring ${ring} endpoint ${address} has an az that is not a string`);
  return az === undefined ? { address } : { address, az };
}
