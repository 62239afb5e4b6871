/**
 * Group commit of rule results in `strata all`: over a real TSDB with fsync on, the receiver's
 * write path and the PromQL engine, each rule of a group sees the results of the rules before it
 * in the same evaluation (Prometheus' semantics), yet the evaluation waits for one WAL fsync, not
 * one per rule; the results survive a restart (WAL replay) once the evaluation has ended; a
 * failed sync marks the rules whose results it held unhealthy, and the next evaluation writes again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Limits, type TenantLimits } from '@strata/api';
import { Matcher } from '@strata/model';
import { Engine } from '@strata/promql';
import { createWritePath, MetadataStore } from '@strata/receiver';
import { TSDB } from '@strata/tsdb';
import { Registry } from 'prom-client';
import { Group } from '../src/group.js';
import type { RuleWriter } from '../src/interfaces.js';
import { RulerMetrics } from '../src/metrics.js';
import { parseRuleFile } from '../src/rule-file.js';
import { appendWriter, engineQueries } from '../src/sources.js';

const DEFAULTS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
};
const RULES = 12;

let dir: string;
let db: TSDB;
let fsyncs = 0;
const open = () =>
  TSDB.open({ dir, fsync: 'batch', head: { outOfOrderWindowMs: 0, maxSeries: 0 }, compactIntervalMs: 0, onFsync: () => fsyncs++ });
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-group-commit-'));
  db = await open();
  await db.tenant('team-a');
});
afterEach(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function writePath() {
  return createWritePath({
    storage: { tenant: (id) => db.tenant(id) },
    limits: new Limits({ defaults: DEFAULTS }),
    metadata: new MetadataStore(),
    registry: new Registry(),
    config: {
      maxRequestBytes: 1 << 20,
      maxInflightBytes: 1 << 26,
      multiTenancy: true,
      tenantHeader: 'X-Scope-OrgID',
      creationGracePeriodMs: 600_000,
      ingestionRateLimitStatus: 503,
      diskMinFreeBytes: 0,
      storagePath: dir,
    },
  });
}

/** r0 = vector(1), r1 = r0 + 1, ...: each rule reads the one before it at the same timestamp. */
function chain(writer: RuleWriter, metrics?: RulerMetrics): Group {
  const lines = ['groups:', '  - name: chain', '    rules:', '      - record: r0', '        expr: vector(1)'];
  for (let k = 1; k < RULES; k++) lines.push(`      - record: r${k}`, `        expr: r${k - 1} + 1`);
  const [spec] = parseRuleFile('chain.yml', lines.join('\n'));
  const queries = engineQueries(new Engine({ timeoutMs: 10_000, lookbackDeltaMs: 1_000 }), { querier: (t) => db.openTenant(t)!.querier() });
  return new Group({ tenant: 'team-a', spec, defaultIntervalMs: 60_000, queries, writer, metrics });
}

async function values(at: number): Promise<number[]> {
  const q = db.openTenant('team-a')!.querier();
  const out: number[] = [];
  for (let k = 0; k < RULES; k++) {
    const [s] = await q.select([new Matcher('=', '__name__', `r${k}`)], { start: at, end: at });
    out.push(s ? s.values[s.values.length - 1] : NaN);
  }
  return out;
}

const expected = Array.from({ length: RULES }, (_, k) => k + 1);

test('each rule sees the previous ones, and the evaluation waits for one fsync, not one per rule', async () => {
  const t = Date.now() - 30_000;
  const visible = appendWriter(writePath());
  expect(visible.visible).toBeDefined();
  const g = chain(visible);
  fsyncs = 0;
  await g.eval(t);
  expect(g.rules.map((r) => r.health)).toEqual(Array(RULES).fill('ok'));
  expect(await values(t)).toEqual(expected);
  expect(fsyncs).toBe(1);

  // The same group written rule by rule (what `strata ruler` does over remote-write): the same
  // results, one fsync per rule.
  const perRule = appendWriter({ append: writePath().append });
  expect(perRule.visible).toBeUndefined();
  fsyncs = 0;
  await chain(perRule).eval(t + 1_000);
  expect(await values(t + 1_000)).toEqual(expected);
  expect(fsyncs).toBe(RULES);

  // Durable once the evaluation ended: a restart replays both evaluations from the WAL.
  await db.close();
  db = await open();
  await db.tenant('team-a');
  expect(await values(t)).toEqual(expected);
  expect(await values(t + 1_000)).toEqual(expected);
});

test('a failed sync marks the rules that wrote unhealthy and is counted; the next evaluation writes again', async () => {
  const path_ = appendWriter(writePath());
  let failSync = true;
  const writer: RuleWriter = {
    write: path_.write,
    visible: {
      write: path_.visible!.write,
      sync: (tenant) => (failSync ? Promise.reject(new Error('no space left on device')) : path_.visible!.sync(tenant)),
    },
  };
  const registry = new Registry();
  const g = chain(writer, new RulerMetrics(registry));
  const t = Date.now() - 30_000;
  await g.eval(t);
  expect(new Set(g.rules.map((r) => `${r.health}: ${r.lastError}`))).toEqual(new Set(['err: writing results: no space left on device']));
  expect((await registry.getSingleMetric('strata_ruler_write_failures_total')!.get()).values[0].value).toBe(RULES);
  // Visible all the same (Prometheus' rule results are never synced at all).
  expect(await values(t)).toEqual(expected);
  failSync = false;
  await g.eval(t + 1_000);
  expect(g.rules.map((r) => r.health)).toEqual(Array(RULES).fill('ok'));
  expect(await values(t + 1_000)).toEqual(expected);
});
