/** Liveness, readiness, build info and Strata's own /metrics. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Router } from './router.js';
import { sendResult, success } from './respond.js';

/**
 * Grafana picks which APIs to call from the reported version: an old or unknown version makes it
 * fall back to heavy /api/v1/series calls. We speak the Prometheus 3 HTTP API, so we say so.
 */
export const PROMETHEUS_COMPATIBLE_VERSION = '3.5.0';
export const STRATA_VERSION = '0.1.0';

export interface StatusDeps {
  registry: Registry;
  /** Ready means: WAL replayed, serving. */
  isReady: () => boolean;
  /** What this process serves beyond Prometheus' API, as Mimir reports it; asked at each request. */
  features?: () => BuildInfoFeatures;
}

/**
 * Mimir's `features` of buildinfo. Grafana's alerting UI reads them to decide whether it may manage
 * rule groups through /config/v1/rules (`ruler_config_api`) and whether queries are sharded; each
 * value is the string "true" or "false", and an absent key counts as "false".
 */
export interface BuildInfoFeatures {
  ruler_config_api?: 'true' | 'false';
  alertmanager_config_api?: 'true' | 'false';
  query_sharding?: 'true' | 'false';
  federated_rules?: 'true' | 'false';
}

export function mountStatusRoutes(router: Router, deps: StatusDeps): void {
  router.add(['GET', 'HEAD'], '/-/healthy', (_req, res) => text(res, 200, 'Strata is Healthy.\n'));
  router.add(['GET', 'HEAD'], '/-/ready', (_req, res) =>
    deps.isReady() ? text(res, 200, 'Strata is Ready.\n') : text(res, 503, 'Service Unavailable\n'),
  );
  router.add('GET', '/metrics', async (_req: IncomingMessage, res: ServerResponse) => {
    const body = await deps.registry.metrics();
    res.writeHead(200, { 'Content-Type': deps.registry.contentType });
    res.end(body);
  });
  router.add('GET', '/api/v1/status/buildinfo', (_req, res) =>
    sendResult(
      res,
      success({
        version: PROMETHEUS_COMPATIBLE_VERSION,
        revision: 'strata',
        branch: 'main',
        buildUser: 'strata',
        buildDate: '',
        goVersion: `node${process.versions.node}`,
        strataVersion: STRATA_VERSION,
        ...(deps.features ? { features: deps.features() } : {}),
      }),
    ),
  );
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

/**
 * /api/v1/status/hashrings: each hashring's endpoints and whether it can hold the replication
 * factor (what Thanos Receive operators check during a rollout). `status` is the ring's own report.
 */
export function mountHashringStatus(router: Router, status: () => unknown[]): void {
  router.add('GET', '/api/v1/status/hashrings', (_req, res) => sendResult(res, success(status())));
}
