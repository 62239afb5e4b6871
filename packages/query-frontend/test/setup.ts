/**
 * A real querier (the PromQL API over a real TSDB head) on a loopback port, and a query frontend
 * in front of it on another: what the frontend tests query, side by side.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { HttpServer, Router } from '@strata/api';
import { Labels } from '@strata/model';
import { Engine } from '@strata/promql';
import { mountQueryApi } from '@strata/querier';
import { TSDB } from '@strata/tsdb';
import { Generations, HttpDownstream, QueryFrontend, type CacheBackend, type QueryFrontendOptions } from '@strata/query-frontend';

export const DAY = 86_400_000;
/** A UTC midnight: the data's first day. */
export const T0 = 19676 * DAY;
export const SCRAPE = 120_000;
export const DAYS = 3;
export const TENANT = 'anonymous';
const logger = pino({ level: 'silent' });

export interface Rig {
  db: TSDB;
  querierUrl: string;
  frontendUrl: string;
  frontend: QueryFrontend;
  generations: Generations;
  registry: Registry;
  close(): Promise<void>;
}

/** Series of a small dashboard's worth of metrics, over DAYS days from T0, one sample per scrape. */
export async function fillDashboardData(db: TSDB, tenant = TENANT): Promise<void> {
  const app = (await db.tenant(tenant)).appender();
  const refs: { ref: number; kind: number; i: number }[] = [];
  let i = 0;
  for (const job of ['api', 'db']) {
    for (const instance of ['a:9100', 'b:9100']) {
      for (const code of ['200', '500']) {
        refs.push({ ref: app.ref(Labels.fromObject({ __name__: 'http_requests_total', job, instance, code })), kind: 0, i: i++ });
      }
      refs.push({ ref: app.ref(Labels.fromObject({ __name__: 'memory_bytes', job, instance })), kind: 1, i: i++ });
      for (const le of ['0.1', '0.5', '1', '+Inf']) {
        refs.push({ ref: app.ref(Labels.fromObject({ __name__: 'latency_seconds_bucket', job, instance, le })), kind: 2, i: i++ });
      }
      refs.push({ ref: app.ref(Labels.fromObject({ __name__: 'up', job, instance })), kind: 3, i: i++ });
    }
  }
  const n = (DAYS * DAY) / SCRAPE;
  for (let k = 0; k < n; k++) {
    const t = T0 + k * SCRAPE;
    for (const r of refs) {
      // A gap of an hour in one series, so lookback and staleness show up across splits.
      if (r.i === 3 && k % 1440 > 600 && k % 1440 < 660) continue;
      let v: number;
      if (r.kind === 0) v = k * (1 + (r.i % 5)) + Math.floor(k / 97) * (r.i % 3);
      else if (r.kind === 1) v = 1e6 + ((k * 7919 + r.i * 104729) % 100_000);
      else if (r.kind === 2) v = k * (1 + (r.i % 4));
      else v = k % 500 === r.i ? 0 : 1;
      app.append(r.ref, t, v);
    }
    if (k % 2000 === 1999) await app.commit();
  }
  await app.commit();
}

export interface RigOptions {
  cache?: CacheBackend;
  now: () => number;
  frontend?: Partial<QueryFrontendOptions>;
  /** With several tenants, multi-tenancy is on (X-Scope-OrgID) and each gets the same data. */
  tenants?: string[];
  /** Put between the frontend and the querier (a fault-injecting proxy): its URL from the querier's. */
  between?: (querierUrl: string) => Promise<string>;
  /** The data of each tenant (default: fillDashboardData). */
  fill?: (db: TSDB, tenant: string) => Promise<void>;
}

export async function startRig(o: RigOptions): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-qf-'));
  const db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 30 * DAY, maxSeries: 0 }, compactIntervalMs: 0 });
  const tenants = o.tenants ?? [TENANT];
  for (const t of tenants) await (o.fill ?? fillDashboardData)(db, t);
  const tenancy = { multiTenancy: o.tenants !== undefined, header: 'X-Scope-OrgID' };
  const qRouter = new Router();
  mountQueryApi(qRouter, { queryable: db.queryable(), engine: new Engine({ maxSamples: 50_000_000 }), tenancy });
  const qServer = new HttpServer({ router: qRouter, registry: new Registry(), logger });
  const qAddr = await qServer.listen('127.0.0.1:0');
  const querierUrl = `http://127.0.0.1:${qAddr.port}`;
  const downstream = new HttpDownstream({ url: o.between ? await o.between(querierUrl) : querierUrl, timeoutMs: 30_000 });
  const generations = new Generations(3_600_000);
  const registry = new Registry();
  const frontend = new QueryFrontend({
    downstream,
    tenancy,
    splitIntervalMs: DAY,
    alignQueriesWithStep: false,
    maxQueryParallelism: 4,
    downstreamConcurrency: 4,
    maxOutstandingPerTenant: 1000,
    retries: 2,
    cache: o.cache,
    maxCacheFreshnessMs: 60_000,
    generations,
    lookbackDeltaMs: 300_000,
    defaultSubqueryStepMs: 60_000,
    slowQueryMs: 0,
    logger,
    registry,
    now: o.now,
    ...o.frontend,
  });
  const fRouter = new Router();
  frontend.mount(fRouter);
  const fServer = new HttpServer({ router: fRouter, registry: new Registry(), logger });
  const fAddr = await fServer.listen('127.0.0.1:0');
  return {
    db,
    querierUrl,
    frontendUrl: `http://127.0.0.1:${fAddr.port}`,
    frontend,
    generations,
    registry,
    close: async () => {
      await fServer.close(100);
      downstream.close();
      await qServer.close(100);
      await db.close();
      await o.cache?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The value of a counter (one label set) in a registry. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values ?? []).find((x) => Object.entries(labels).every(([k, want]) => String(x.labels[k]) === want));
  return v ? Number(v.value) : 0;
}

export async function rangeQuery(
  base: string,
  query: string,
  start: number,
  end: number,
  step: number,
  headers: Record<string, string> = {},
) {
  const form = new URLSearchParams({ query, start: String(start / 1000), end: String(end / 1000), step: String(step / 1000) });
  const res = await fetch(`${base}/api/v1/query_range`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form.toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * A proxy in front of a querier that answers some requests itself (`decide` returns a status)
 * and forwards the others; it records every request and whether its client hung up first.
 */
export interface FaultyProxy {
  url: string;
  requests: { path: string; clientClosed: boolean }[];
  close(): Promise<void>;
}

export async function startFaultyProxy(target: string, decide: (n: number) => number | 'forward'): Promise<FaultyProxy> {
  const requests: FaultyProxy['requests'] = [];
  const server = http.createServer((req, res) => {
    const entry = { path: req.url ?? '', clientClosed: false };
    requests.push(entry);
    const verdict = decide(requests.length);
    res.on('close', () => {
      if (!res.writableEnded) entry.clientClosed = true;
    });
    if (verdict !== 'forward') {
      req.resume();
      res.writeHead(verdict, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'error', errorType: verdict >= 500 ? 'unavailable' : 'execution', error: `injected ${verdict}` }));
      return;
    }
    const up = http.request(target + req.url, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    res.on('close', () => {
      if (!res.writableEnded) up.destroy();
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
