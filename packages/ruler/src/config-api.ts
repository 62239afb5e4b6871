/**
 * Mimir's ruler configuration API, what `mimirtool rules` and Grafana's data-source-managed rules
 * call, per tenant (X-Scope-OrgID), under every prefix of the router (Mimir's is /prometheus):
 *
 *   GET    /config/v1/rules                        every namespace: YAML map namespace -> groups
 *   GET    /config/v1/rules/{namespace}            one namespace, the same shape
 *   GET    /config/v1/rules/{namespace}/{group}    one group
 *   POST   /config/v1/rules/{namespace}            create or replace the group in the body
 *   DELETE /config/v1/rules/{namespace}/{group}    one group
 *   DELETE /config/v1/rules/{namespace}            every group of the namespace
 *
 * Mimir's older paths for the same handlers, which `mimirtool rules --use-legacy-routes` calls:
 * /api/v1/rules/{namespace}[/{group}] (GET, POST, DELETE as above), and GET /api/v1/rules. That
 * last one is also Prometheus' rules read API, which Strata serves at the root as well (Grafana
 * may point there): it lists the configuration only for a request that asks for YAML (Accept) or
 * comes from mimirtool/cortextool (User-Agent), see wantsRuleConfig; everything else gets the
 * read API's JSON. Under /prometheus it is always the read API, as in Mimir.
 *
 * As Mimir answers: 202 with {"status":"success"} on POST and DELETE (stored; the rulers pick it up
 * on their next poll), 404 when nothing matches, 400 with the validation problems, which are those
 * of `promtool check rules` (rule-file.ts) with the namespace in place of the file. Errors are
 * plain text, as Mimir's, ending with their stable ID.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import YAML from 'yaml';
import { tenantOf, type Router, type TenancyConfig } from '@strata/api';
import { StrataError, toStrataError } from '@strata/model';
import type { Logger } from 'pino';
import { parseRuleGroup, RuleFileError } from './rule-file.js';
import type { BucketRuleStore } from './rule-store.js';

export interface RulerLimits {
  /** 0: unlimited. */
  maxRulesPerRuleGroup: number;
  maxRuleGroupsPerTenant: number;
}

export interface ConfigApiOptions {
  store: BucketRuleStore;
  tenancy: TenancyConfig;
  limits: (tenant: string) => RulerLimits;
  /** Told after a change was stored (the ruler in this process syncs at once). */
  onChange?: () => void;
  /** Largest request body accepted. */
  maxBodyBytes?: number;
  logger?: Logger;
}

const PATH = '/config/v1/rules';
/** Mimir's deprecated paths of the same API (no /prometheus prefix there). */
const LEGACY_PATH = '/api/v1/rules';
const DEFAULT_MAX_BODY = 4 << 20;

/** What mountRulerConfigApi hands to the rules read API: the legacy listing of GET /api/v1/rules. */
export interface RulerConfigApi {
  listAll: (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => Promise<void>;
}

export function mountRulerConfigApi(router: Router, o: ConfigApiOptions): RulerConfigApi {
  const handle =
    (fn: (tenant: string, params: Record<string, string>, req: IncomingMessage, res: ServerResponse) => Promise<void>) =>
    async (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => {
      try {
        const tenant = tenantOf(req, o.tenancy);
        if (params.namespace === '') throw new StrataError('invalid-rule-group', 'a namespace must be provided in the request');
        if (params.groupName === '') throw new StrataError('invalid-rule-group', 'a matching group name must be provided in the request');
        await fn(tenant, params, req, res);
      } catch (e) {
        const err = toStrataError(e);
        if (err.status >= 500) o.logger?.error({ err: e }, 'ruler configuration API failed');
        res.writeHead(err.status, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(err.detail + '\n');
      }
    };
  const changed = () => {
    try {
      o.onChange?.();
    } catch (e) {
      o.logger?.error({ err: e }, 'rule sync after a change failed');
    }
  };

  const listAll = handle(async (tenant, _p, _req, res) => sendNamespaces(res, await namespaces(o.store, tenant)));
  router.add('GET', PATH, listAll);
  // The same handlers under the legacy paths; GET /api/v1/rules is the read API's (listAll is handed to it).
  const add = (method: string, sub: string, h: ReturnType<typeof handle>) => {
    router.add(method, PATH + sub, h);
    router.add(method, LEGACY_PATH + sub, h);
  };
  add(
    'GET',
    '/:namespace',
    handle(async (tenant, p, _req, res) => sendNamespaces(res, await namespaces(o.store, tenant, p.namespace))),
  );
  add(
    'GET',
    '/:namespace/:groupName',
    handle(async (tenant, p, _req, res) => {
      const text = await o.store.get(tenant, p.namespace, p.groupName);
      if (text === undefined) throw new StrataError('rule-group-not-found', 'group does not exist');
      sendYaml(res, YAML.parse(text));
    }),
  );
  add(
    'POST',
    '/:namespace',
    handle(async (tenant, p, req, res) => {
      const text = await readBody(req, o.maxBodyBytes ?? DEFAULT_MAX_BODY);
      let spec;
      try {
        spec = parseRuleGroup(p.namespace, text);
      } catch (e) {
        if (e instanceof RuleFileError) throw new StrataError('invalid-rule-group', e.problems.join('\n'));
        throw e;
      }
      const limits = o.limits(tenant);
      if (limits.maxRulesPerRuleGroup > 0 && spec.rules.length > limits.maxRulesPerRuleGroup)
        throw new StrataError(
          'ruler-max-rules-per-rule-group',
          `per-tenant rules per rule group limit (limit: ${limits.maxRulesPerRuleGroup} actual: ${spec.rules.length}) exceeded; ` +
            'split the group or raise ruler_max_rules_per_rule_group for the tenant (--ruler.max-rules-per-rule-group)',
        );
      if (limits.maxRuleGroupsPerTenant > 0) {
        const groups = await o.store.list(tenant);
        // Replacing a group does not add one.
        const replaces = groups.some((g) => g.namespace === p.namespace && g.name === spec.name);
        const after = groups.length + (replaces ? 0 : 1);
        if (after > limits.maxRuleGroupsPerTenant)
          throw new StrataError(
            'ruler-max-rule-groups-per-tenant',
            `per-tenant rule groups limit (limit: ${limits.maxRuleGroupsPerTenant} actual: ${after}) exceeded; ` +
              'delete groups or raise ruler_max_rule_groups_per_tenant for the tenant (--ruler.max-rule-groups-per-tenant)',
          );
      }
      await o.store.set(tenant, p.namespace, spec.name, text);
      sendAccepted(res);
      changed();
    }),
  );
  add(
    'DELETE',
    '/:namespace/:groupName',
    handle(async (tenant, p, _req, res) => {
      if (!(await o.store.delete(tenant, p.namespace, p.groupName))) throw new StrataError('rule-group-not-found', 'group does not exist');
      sendAccepted(res);
      changed();
    }),
  );
  add(
    'DELETE',
    '/:namespace',
    handle(async (tenant, p, _req, res) => {
      if ((await o.store.deleteNamespace(tenant, p.namespace)) === 0)
        throw new StrataError('rule-group-not-found', 'group namespace does not exist');
      sendAccepted(res);
      changed();
    }),
  );
  return { listAll };
}

/**
 * Whether a GET /api/v1/rules at the root asks for Mimir's legacy configuration listing rather
 * than Prometheus' read API: the clients of the legacy path (mimirtool, and cortextool before it)
 * name themselves in User-Agent; anything else asking for YAML gets it too.
 */
export function wantsRuleConfig(req: IncomingMessage): boolean {
  const path = (req.url ?? '').split('?')[0];
  if (path !== LEGACY_PATH) return false;
  const ua = req.headers['user-agent'] ?? '';
  if (/^(mimirtool|cortextool)\//i.test(ua)) return true;
  return /\b(application|text)\/(x-)?yaml\b/i.test(String(req.headers.accept ?? ''));
}

/** namespace -> its groups as stored, for one namespace or all; 404 when there are none. */
async function namespaces(store: BucketRuleStore, tenant: string, namespace?: string): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>();
  for (const ref of await store.list(tenant, namespace)) {
    const text = await store.get(tenant, ref.namespace, ref.name);
    if (text === undefined) continue;
    let group: unknown;
    try {
      group = YAML.parse(text);
    } catch {
      // Not ours (e.g. a Mimir protobuf object): the ruler reports it; the listing leaves it out.
      continue;
    }
    const list = out.get(ref.namespace) ?? [];
    list.push(group);
    out.set(ref.namespace, list);
  }
  if (out.size === 0) throw new StrataError('rule-group-not-found', 'no rule groups found');
  return out;
}

function sendNamespaces(res: ServerResponse, m: Map<string, unknown[]>): void {
  sendYaml(res, Object.fromEntries(m));
}

function sendYaml(res: ServerResponse, v: unknown): void {
  const body = YAML.stringify(v, { lineWidth: 0 });
  res.writeHead(200, { 'Content-Type': 'application/yaml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendAccepted(res: ServerResponse): void {
  const body = JSON.stringify({ status: 'success', data: null, errorType: '', error: '' });
  res.writeHead(202, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw new StrataError('request-too-large', `the rule group body exceeds ${limit} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks, n).toString('utf8');
}
