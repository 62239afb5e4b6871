/**
 * Prometheus' rules and alerts read API (GET /api/v1/rules, /api/v1/alerts), per tenant: what
 * Grafana's alert list and rule views read. Filters: type=alert|record, rule_name[],
 * rule_group[], file[], exclude_alerts.
 */
import { wantsRuleConfig, type RulerConfigApi } from './config-api.js';
import { readParams, sendResult, success, failure, tenantOf, type Router, type TenancyConfig } from '@strata/api';
import { StrataError } from '@strata/model';
import type { Alert, AlertState } from './alert.js';
import type { Group } from './group.js';
import { AlertingRule } from './rules.js';

function time(ms: number): string {
  return ms === 0 ? '0001-01-01T00:00:00Z' : new Date(ms).toISOString();
}

/** strconv.FormatFloat(v, 'e', -1, 64), as Prometheus prints alert values. */
function valueString(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const m = /^(-?\d)(?:\.(\d+))?e([+-]\d+)$/.exec(v.toExponential())!;
  const exp = Number(m[3]);
  return `${m[1]}${m[2] ? '.' + m[2] : ''}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function alertJson(a: Alert) {
  const out: Record<string, unknown> = {
    labels: a.labels.toObject(),
    annotations: Object.fromEntries(a.annotations),
    state: a.state,
    activeAt: time(a.activeAt),
    value: valueString(a.value),
  };
  if (a.keepFiringSince) out.keepFiringSince = time(a.keepFiringSince);
  return out;
}

function ruleState(r: AlertingRule): AlertState {
  let s: AlertState = 'inactive';
  for (const a of r.activeAlerts()) {
    if (a.state === 'firing') return 'firing';
    if (a.state === 'pending') s = 'pending';
  }
  return s;
}

export interface RulesSource {
  groupsOf(tenant: string): Group[];
}

export function rulesResponse(groups: Group[], q: URLSearchParams) {
  const type = q.get('type') ?? '';
  if (type !== '' && type !== 'alert' && type !== 'record')
    throw new StrataError('bad-query', `invalid type parameter ${JSON.stringify(type)}: want alert or record`);
  const names = new Set(q.getAll('rule_name[]'));
  const groupNames = new Set(q.getAll('rule_group[]'));
  const files = new Set(q.getAll('file[]'));
  const excludeAlerts = q.get('exclude_alerts') === 'true';
  const out = [];
  for (const g of groups) {
    if (groupNames.size > 0 && !groupNames.has(g.name)) continue;
    if (files.size > 0 && !files.has(g.file)) continue;
    const rules = [];
    for (const r of g.rules) {
      if (names.size > 0 && !names.has(r.name)) continue;
      const common = {
        name: r.name,
        query: r.spec.expr,
        labels: Object.fromEntries(r.spec.labels),
        health: r.health,
        ...(r.lastError ? { lastError: r.lastError } : {}),
        evaluationTime: r.evaluationSeconds,
        lastEvaluation: time(r.lastEvaluation),
      };
      if (r instanceof AlertingRule) {
        if (type === 'record') continue;
        rules.push({
          state: ruleState(r),
          ...common,
          duration: r.spec.forMs / 1000,
          keepFiringFor: r.spec.keepFiringForMs / 1000,
          annotations: Object.fromEntries(r.spec.annotations),
          ...(excludeAlerts ? {} : { alerts: r.activeAlerts().map(alertJson) }),
          type: 'alerting',
        });
      } else {
        if (type === 'alert') continue;
        rules.push({ ...common, type: 'recording' });
      }
    }
    // A filtered-out group is left out; an empty group is listed when nothing filters rules.
    if (rules.length === 0 && (names.size > 0 || type !== '')) continue;
    out.push({
      name: g.name,
      file: g.file,
      rules,
      interval: g.intervalMs / 1000,
      limit: g.opts.spec.limit,
      evaluationTime: g.evaluationSeconds,
      lastEvaluation: time(g.lastEvaluation),
    });
  }
  return { groups: out };
}

export function alertsResponse(groups: Group[]) {
  const alerts = [];
  for (const g of groups) for (const r of g.rules) if (r instanceof AlertingRule) alerts.push(...r.activeAlerts().map(alertJson));
  return { alerts };
}

/**
 * Mounts the endpoints (under every prefix the router has, e.g. / and /prometheus). With
 * `config`, a GET /api/v1/rules at the root from a client of Mimir's legacy configuration path
 * (see wantsRuleConfig) is answered with the configuration listing instead.
 */
export function mountRulesApi(router: Router, source: RulesSource, tenancy: TenancyConfig, config?: RulerConfigApi): void {
  router.add(['GET', 'POST'], '/api/v1/rules', async (req, res, params) => {
    if (config && req.method === 'GET' && wantsRuleConfig(req)) return config.listAll(req, res, params);
    try {
      const tenant = tenantOf(req, tenancy);
      sendResult(res, success(rulesResponse(source.groupsOf(tenant), await readParams(req))));
    } catch (e) {
      sendResult(res, failure(e));
    }
  });
  router.add(['GET', 'POST'], '/api/v1/alerts', async (req, res) => {
    try {
      const tenant = tenantOf(req, tenancy);
      sendResult(res, success(alertsResponse(source.groupsOf(tenant))));
    } catch (e) {
      sendResult(res, failure(e));
    }
  });
}
