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
  return doc.map((h: Record<string, unknown>, i) => {
    const name = String(h.hashring ?? `hashring-${i}`);
    const eps = Array.isArray(h.endpoints) ? h.endpoints : [];
    if (eps.length === 0) throw new HashringConfigError(`${where}: hashring ${name} has no endpoints`);
    const endpoints: EndpointConfig[] = eps.map((e: unknown) => (typeof e === 'string' ? { address: e } : { address: String((e as EndpointConfig).address), az: (e as EndpointConfig).az }));
    const seen = new Set<string>();
    for (const e of endpoints) {
      if (!e.address || e.address === 'undefined') throw new HashringConfigError(`${where}: hashring ${name} has an endpoint without an address`);
      if (seen.has(e.address)) throw new HashringConfigError(`${where}: hashring ${name} lists endpoint ${e.address} twice`);
      seen.add(e.address);
    }
    const algorithm = String(h.algorithm ?? 'ketama');
    if (algorithm !== 'ketama' && algorithm !== 'hashmod') throw new HashringConfigError(`${where}: hashring ${name} has unknown algorithm ${JSON.stringify(algorithm)} (ketama or hashmod)`);
    const tmt = String(h.tenant_matcher_type ?? 'exact');
    if (tmt !== 'exact' && tmt !== 'glob') throw new HashringConfigError(`${where}: hashring ${name} has unknown tenant_matcher_type ${JSON.stringify(tmt)}`);
    return { hashring: name, tenants: Array.isArray(h.tenants) ? h.tenants.map(String) : [], tenantMatcherType: tmt, endpoints, algorithm };
  });
}
