/** The tenant of a request: X-Scope-OrgID when multi-tenancy is on, else the single default tenant. */
import type { IncomingMessage } from 'node:http';
import { StrataError } from '@strata/model';

export const DEFAULT_TENANT = 'anonymous';
export const DEFAULT_TENANT_HEADER = 'X-Scope-OrgID';

export interface TenancyConfig {
  multiTenancy: boolean;
  header: string;
}

const TENANT_RE = /^[a-zA-Z0-9!\-_.*'()]{1,150}$/;

export function tenantOf(req: IncomingMessage, cfg: TenancyConfig): string {
  if (!cfg.multiTenancy) return DEFAULT_TENANT;
  const v = req.headers[cfg.header.toLowerCase()];
  const id = Array.isArray(v) ? v[0] : v;
  if (!id) throw new StrataError('missing-tenant', `no tenant ID in the ${cfg.header} header while multi-tenancy is enabled`);
  // Tenant IDs become directory names and object-store prefixes: restrict them as Mimir does.
  if (!TENANT_RE.test(id) || id === '.' || id === '..') {
    throw new StrataError('missing-tenant', `tenant ID ${JSON.stringify(id)} is invalid: use up to 150 characters of [a-zA-Z0-9!-_.*'()]`);
  }
  return id;
}
