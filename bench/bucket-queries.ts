/**
 * Bucket query benchmark: the dashboard query set over data that lives only in the bucket
 * (served by a store gateway), cold (first run, empty caches, no local index headers) and warm,
 * against the same data in a head. Also: bytes fetched from the bucket per query against the
 * bytes of the chunks the query actually needs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { Engine, parse, type Expr } from '@strata/promql';
import { FilesystemBucket, type Bucket } from '@strata/objstore';
import { StoreGateway } from '@strata/store-gateway';
import { BlockReader, Shipper, TSDB } from '@strata/tsdb';
import { dataset, QUERIES, value } from './query.js';

const STEP_MS = 15_000;
const RANGE = 2 * 3600_000;

function selectors(e: Expr, out: { matchers: Expr & { kind: 'VectorSelector' }; range: number }[] = [], range = 0): typeof out {
  if (e.kind === 'VectorSelector') out.push({ matchers: e, range });
  else if (e.kind === 'MatrixSelector') out.push({ matchers: e.vectorSelector, range: range + e.range });
  else if (e.kind === 'SubqueryExpr') selectors(e.expr, out, range + e.range);
  else
    for (const v of Object.values(e))
      if (v && typeof v === 'object' && 'kind' in v) selectors(v as Expr, out, range);
      else if (Array.isArray(v)) v.forEach((x) => selectors(x as Expr, out, range));
  return out;
}

/** Bytes of the chunks overlapping what each selector of the query reads. */
async function neededChunkBytes(readers: BlockReader[], query: string, start: number, end: number): Promise<number> {
  let n = 0;
  for (const sel of selectors(parse(query))) {
    const from = start - sel.range - 5 * 60_000;
    for (const r of readers) {
      for (const id of await r.index.select(sel.matchers.matchers)) {
        const s = await r.index.series(id);
        for (const c of s.chunks) if (c.maxT >= from && c.minT <= end) n += (await r.chunk(c.ref)).length;
      }
    }
  }
  return n;
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

export async function runBucketQueryBench(hours: number, repeats: number): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bq-'));
  const series = dataset();
  const rounds = Math.floor((hours * 3600_000) / STEP_MS);
  const end = Math.floor(Date.now() / RANGE) * RANGE - 1;
  const start = end - (rounds - 1) * STEP_MS;
  const db = await TSDB.open({
    dir: path.join(root, 'db'),
    fsync: 'none',
    blockDurationMs: RANGE,
    head: { outOfOrderWindowMs: 0, maxSeries: 0 },
  });
  const t = await db.tenant('bench');
  for (let r = 0; r < rounds; r++) {
    const app = t.appender();
    for (let i = 0; i < series.length; i++) app.append(app.ref(series[i]), start + r * STEP_MS, value(i, r, series[i]));
    await app.commit();
  }
  const headQuerier = t.querier(); // snapshot of the head before it is cut into blocks
  const engine = new Engine();
  const headTimes: number[] = [];
  for (const q of QUERIES) {
    const run = () =>
      q.range === 0
        ? engine.instantQuery(headQuerier, q.query, end)
        : engine.rangeQuery(headQuerier, q.query, end - q.range, end, q.step * 1000);
    await run();
    const ts: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await run();
      ts.push(performance.now() - t0);
    }
    headTimes.push(median(ts));
  }
  await db.compactAll(true);
  const bucketDir = path.join(root, 'bucket');
  await new Shipper({
    bucket: new FilesystemBucket(bucketDir),
    prefix: 'bench/',
    blocksDir: t.blocksDir,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  }).sync();
  const locals = t.blocks;
  const lines = [
    `## Queries over the bucket: ${series.length} series, ${hours} h in ${locals.length} blocks, median of ${repeats} warm runs`,
    '',
    '| query | head ms | bucket cold ms | bucket warm ms | warm/head | bytes fetched (cold) | chunk bytes needed | fetched/needed |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (let qi = 0; qi < QUERIES.length; qi++) {
    const q = QUERIES[qi];
    // A fresh gateway per query: empty caches and no local index headers, so "cold" is cold.
    const gw = benchGateway(new FilesystemBucket(bucketDir), path.join(root, `gw-${qi}`));
    await gw.start();
    const querier = gw.querier('bench');
    const run = () =>
      q.range === 0 ? engine.instantQuery(querier, q.query, end) : engine.rangeQuery(querier, q.query, end - q.range, end, q.step * 1000);
    const b0 = gw.bytesFetched;
    const c0 = performance.now();
    await run();
    const cold = performance.now() - c0;
    const fetched = gw.bytesFetched - b0;
    const ts: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await run();
      ts.push(performance.now() - t0);
    }
    const warm = median(ts);
    const needed = await neededChunkBytes(locals, q.query, q.range === 0 ? end : end - q.range, end);
    lines.push(
      `| ${q.name} | ${headTimes[qi].toFixed(1)} | ${cold.toFixed(1)} | ${warm.toFixed(1)} | ${(warm / headTimes[qi]).toFixed(2)}x | ${fetched} | ${needed} | ${(fetched / needed).toFixed(2)}x |`,
    );
    await gw.stop();
  }
  await db.close();
  fs.rmSync(root, { recursive: true, force: true });
  return lines.join('\n');
}

/** The only store gateway of a bucket, with large caches, no limits and no periodic sync: what the bucket benchmarks measure. */
export function benchGateway(bucket: Bucket, dataDir: string): StoreGateway {
  return new StoreGateway({
    bucket,
    dataDir,
    registry: new Registry(),
    syncIntervalMs: 3600_000,
    idleUnloadMs: 3600_000,
    members: ['g'],
    self: 'g',
    replicationFactor: 1,
    indexCacheBytes: 256 << 20,
    chunkCacheBytes: 512 << 20,
    limits: { maxSeriesPerQuery: 0, maxChunksPerQuery: 0, maxBytesPerQuery: 0 },
    deletionDelayMs: 0,
  });
}
