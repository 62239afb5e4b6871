/**
 * The ruler's wiring: `strata ruler` (queries over HTTP to --ruler.query-url, results by
 * remote-write to --ruler.remote-write-url) and the in-process ruler of `strata all`.
 */
import {
  appendWriter,
  BucketRuleStore,
  engineQueries,
  httpQueries,
  mountRulerConfigApi,
  mountRulesApi,
  Notifier,
  remoteWriter,
  Ruler,
  type Appendable,
  type RuleQueries,
  type RuleWriter,
} from '@strata/ruler';
import type { Limits } from '@strata/api';
import type { Bucket } from '@strata/objstore';
import path from 'node:path';
import type { Engine } from '@strata/promql';
import type { Queryable } from '@strata/model';
import { owners } from '@strata/ring';
import os from 'node:os';
import type { Config } from '../config.js';
import { ConfigError } from '../config.js';
import { component, list, waitForSignal, type Component } from './common.js';
import { limitsFrom } from './limits-from-config.js';
import { openBucket } from '../storage.js';

export function externalLabelsFrom(s: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of list(s)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--ruler.external-labels: want name=value pairs separated by commas, got ${JSON.stringify(part)}`);
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/** Where per-tenant rule groups are stored (the bucket) and the limits the configuration API enforces. */
export interface RulerStorage {
  bucket: Bucket;
  limits: Limits;
}

/** Starts the ruler and its APIs on the component's router; returns how to stop them. */
export async function startRuler(
  cfg: Config,
  c: Component,
  queries: RuleQueries,
  writer: RuleWriter,
  storage: RulerStorage,
): Promise<() => Promise<void>> {
  const externalLabels = externalLabelsFrom(cfg.str('ruler.external-labels'));
  const externalURL = cfg.str('ruler.external-url');
  const notifier = new Notifier({
    urls: list(cfg.str('ruler.alertmanager-url')),
    externalLabels,
    externalURL,
    queueCapacity: cfg.num('ruler.notification-queue-capacity'),
    timeoutMs: cfg.num('ruler.notification-timeout'),
    tenantHeader: c.tenancy.multiTenancy ? c.tenancy.header : undefined,
    registry: c.registry,
    logger: c.logger,
  });
  const members = list(cfg.str('ruler.members'));
  const self = cfg.str('ruler.name') || os.hostname();
  if (members.length > 0 && !members.includes(self))
    throw new ConfigError(`--ruler.name ${JSON.stringify(self)} is not one of --ruler.members ${members.join(',')}`);
  const store = new BucketRuleStore(storage.bucket);
  const ruler = new Ruler({
    store,
    owns: members.length > 1 ? (key) => owners(key, members, 1)[0] === self : undefined,
    ruleFiles: list(cfg.str('ruler.rule-files')),
    tenant: cfg.str('ruler.tenant'),
    defaultIntervalMs: cfg.num('ruler.evaluation-interval'),
    defaultQueryOffsetMs: cfg.num('ruler.query-offset'),
    queries,
    writer,
    externalLabels,
    externalURL,
    queryTimeoutMs: cfg.num('ruler.query-timeout'),
    outageToleranceMs: cfg.num('ruler.for-outage-tolerance'),
    forGracePeriodMs: cfg.num('ruler.for-grace-period'),
    resendDelayMs: cfg.num('ruler.resend-delay'),
    notify: notifier.notify,
    pollIntervalMs: cfg.num('ruler.poll-interval'),
    registry: c.registry,
    logger: c.logger,
  });
  const configApi = mountRulerConfigApi(c.router, {
    store,
    tenancy: c.tenancy,
    limits: (tenant) => {
      const l = storage.limits.forTenant(tenant);
      return { maxRulesPerRuleGroup: l.rulerMaxRulesPerRuleGroup ?? 0, maxRuleGroupsPerTenant: l.rulerMaxRuleGroupsPerTenant ?? 0 };
    },
    // This ruler applies a change at once; others at their next poll.
    onChange: () => void ruler.reload(),
    logger: c.logger,
  });
  mountRulesApi(c.router, ruler, c.tenancy, configApi);
  await ruler.start();
  const onHup = () => void ruler.reload();
  process.on('SIGHUP', onHup);
  return async () => {
    process.off('SIGHUP', onHup);
    await ruler.stop();
    await notifier.stop();
  };
}

/** In `strata all`: queries to the engine over this process' stores, results appended to its own write path. */
export function inProcessSources(cfg: Config, engine: Pick<Engine, 'instantQuery'>, queryable: Queryable, writePath: Appendable) {
  return {
    queries: engineQueries(engine, queryable, cfg.num('ruler.query-timeout')),
    writer: appendWriter(writePath),
  };
}

export async function runRuler(cfg: Config): Promise<void> {
  const c = component(cfg, 'ruler');
  const queryURL = cfg.str('ruler.query-url');
  const writeURL = cfg.str('ruler.remote-write-url');
  if (!queryURL || !writeURL) throw new ConfigError('strata ruler needs --ruler.query-url and --ruler.remote-write-url');
  const queries = httpQueries({
    url: queryURL,
    tenantHeader: c.tenancy.header,
    sendTenant: c.tenancy.multiTenancy,
    timeoutMs: cfg.num('ruler.query-timeout'),
  });
  const writer = remoteWriter({
    url: writeURL,
    tenantHeader: c.tenancy.header,
    sendTenant: c.tenancy.multiTenancy,
    timeoutMs: cfg.num('ruler.query-timeout'),
  });
  const bucket = openBucket(cfg.str('objstore.config-file'), path.resolve(cfg.str('storage.path')), c.registry);
  const limits = limitsFrom(cfg, c.logger);
  const addr = await c.server.listen(cfg.str('http.address'));
  const stop = await startRuler(cfg, c, queries, writer, { bucket, limits });
  c.setReady(true);
  c.logger.info({ address: `${addr.address}:${addr.port}` }, 'ready');
  await waitForSignal(c.logger, async () => {
    c.setReady(false);
    await stop();
    await c.server.close();
    limits.stop();
    await bucket.close();
  });
}
