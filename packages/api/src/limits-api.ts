/**
 * The limits a tenant runs under, and what it uses of them:
 *   /api/v1/user_limits     the tenant's effective limits, keyed by the limits file's names (Mimir's endpoint)
 *   /api/v1/status/limits   the same plus current usage and the state of the limits file: when it was
 *                           last applied and, after a refused edit, the error with its line and column
 */
import type { RelabelRule } from '@strata/model';
import { LIMIT_YAML_KEYS, type Limits, type TenantLimits } from './limits.js';
import { sendError, sendResult, success } from './respond.js';
import type { Router } from './router.js';
import { tenantOf, type TenancyConfig } from './tenant.js';

export interface LimitsApiDeps {
  tenancy: TenancyConfig;
  limits: Limits;
  /** What the tenant uses on this process (active series, its largest metric...). */
  usage?: (tenant: string) => Record<string, unknown>;
}

/** A tenant's limits under the file's key names; relabel rules as they would be written. */
export function limitsAsYamlKeys(l: TenantLimits): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, key] of Object.entries(LIMIT_YAML_KEYS) as [keyof TenantLimits, string][]) {
    const v = l[field];
    if (v === undefined) continue;
    out[key] =
      field === 'metricRelabelConfigs'
        ? (v as readonly RelabelRule[]).map(ruleAsYaml)
        : field === 'logSampling' || field === 'otlpConfig'
          ? (v as { source: unknown }).source
          : v;
  }
  return out;
}

function ruleAsYaml(r: RelabelRule): Record<string, unknown> {
  return {
    source_labels: r.sourceLabels,
    separator: r.separator,
    regex: r.regex.source,
    modulus: r.modulus,
    target_label: r.targetLabel,
    replacement: r.replacement,
    action: r.action,
  };
}

export function mountLimitsApi(router: Router, deps: LimitsApiDeps): void {
  router.add('GET', '/api/v1/user_limits', (req, res) => {
    try {
      // Mimir answers the bare object, not the Prometheus envelope.
      const body = JSON.stringify(limitsAsYamlKeys(deps.limits.forTenant(tenantOf(req, deps.tenancy))));
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    } catch (e) {
      sendError(res, e);
    }
  });
  router.add('GET', '/api/v1/status/limits', (req, res) => {
    try {
      const tenant = tenantOf(req, deps.tenancy);
      sendResult(
        res,
        success({
          tenant,
          limits: limitsAsYamlKeys(deps.limits.forTenant(tenant)),
          usage: deps.usage?.(tenant) ?? {},
          file: deps.limits.status(),
        }),
      );
    } catch (e) {
      sendError(res, e);
    }
  });
}
