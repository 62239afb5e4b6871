/**
 * The tenant of a request: the tenant header when multi-tenancy is on, else the single default
 * tenant. The one place any component reads a tenant from a request.
 */
import type { IncomingMessage } from 'node:http';
import { checkTenantId, StrataError } from '@strata/model';

export const DEFAULT_TENANT = 'anonymous';
export const DEFAULT_TENANT_HEADER = 'X-Scope-OrgID';

export interface TenancyConfig {
  multiTenancy: boolean;
  header: string;
}

/** Missing: 401 `missing-tenant`; malformed (see model's tenant-id rules): 400 `invalid-tenant`. */
export function tenantOf(req: IncomingMessage, cfg: TenancyConfig): string {
  if (!cfg.multiTenancy) return DEFAULT_TENANT;
  // Node joins repeated headers with ", ", which no valid tenant ID contains: two tenant headers
  // are refused rather than resolved to either one.
  const v = req.headers[cfg.header.toLowerCase()];
  const id = Array.isArray(v) ? v.join(', ') : v;
  if (!id) throw new StrataError('missing-tenant', `no tenant ID in the ${cfg.header} header while multi-tenancy is enabled`);
  return checkTenantId(id);
}
