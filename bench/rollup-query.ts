/**
 * `npm run bench -- --compactor` (also alone as `--compactor-query`): a 30-day
 * `sum by (job) (rate(...[1h]))` at 1 h step through the store gateway and the PromQL engine,
 * in this process, once over the raw 2 h blocks (max_source_resolution 0) and once over the 1 h
 * rollups that tsdb's downsampling code made from them (raw -> 5m -> 1h, as the compactor does).
 * Both live in one local-folder bucket, as after the compactor's passes. Bytes fetched are counted
 * by a wrapper around the bucket (every get/getRange), so they include index headers, postings,
 * series and chunks. Cold = a fresh gateway with an empty data dir (no index headers, empty caches);
 * warm = the same gateway queried again. The rollup query runs a second time the way a separate
 * `strata querier` reads a `strata store-gateway`: the gateway behind its HTTP API in this process,
 * the engine over a RemoteStore, rollups and their side data over remote-read
 * (docs/format/rollup-read.md); its bytes are the bucket's, as in-process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { Labels } from '@strata/model';
import { Engine, type RangeSeries } from '@strata/promql';
import { FilesystemBucket, type Bucket } from '@strata/objstore';
import pino from 'pino';
import { HttpServer, Router } from '@strata/api';
import { mountQueryApi, RemoteStore } from '@strata/querier';
import { benchGateway } from './bucket-queries.js';
import { BlockReader, BlockWriter, compareBytes, compareLabelsBytes, downsampleBlocks, RES_1H, RES_5M, XOREncoder } from '@strata/tsdb';

const H = 3600_000;
const DAY = 24 * H;
const RANGE = 2 * H;
const DAYS = 30;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % DAY);
const SCRAPE = 60_000;
const PER_CHUNK = 120;
const TENANT = 'bench';
const JOBS = 6;
/** Rollups are made per this many days of raw blocks (the compactor's 14 d level would give 14, 14, 2). */
const ROLLUP_DAYS = 10;
/** The query, and the same over 2 h windows: a 1 h rollup has one counter sample per hour, so only a window longer than 1 h holds two. */
const QUERIES = ['sum by (job) (rate(bench_total[1h]))', 'sum by (job) (rate(bench_total[2h]))'];

function labelSets(n: number): Labels[] {
  const out: Labels[] = [];
  for (let i = 0; i < n; i++)
    out.push(Labels.fromObject({ __name__: 'bench_total', instance: `host-${i}:9100`, job: `job-${i % JOBS}`, kind: KIND[i % 2] }));
  return out.sort(compareLabelsBytes);
}

/**
 * Series s's increment at scrape n, varying slowly over the day: half the series count requests
 * (integers), half count CPU seconds (hundredths), as node exporters' counters do.
 */
const KIND = ['requests', 'cpu_seconds'];
function increment(s: number, n: number): number {
  const rate = ((s % 7) + 1) * (1 + 0.5 * Math.sin((n + s) / 90));
  return s % 2 === 0 ? Math.round(rate * 10) : Math.round(rate * 37) / 100;
}

/** One series in ten restarts (its counter resets to 0) every 5 days, so both paths must handle resets. */
const RESTART_EVERY = (5 * DAY) / SCRAPE;
const restarts = (s: number, n: number): boolean => s % 10 === 0 && n > 0 && n % RESTART_EVERY === 0;

async function writeRawBlocks(tenantDir: string, sets: Labels[]): Promise<void> {
  const symbols = [...new Set(sets.flatMap((l) => l.pairs))].sort(compareBytes);
  const totals = new Float64Array(sets.length);
  const perBlock = RANGE / SCRAPE;
  for (let b = 0; b < (DAYS * DAY) / RANGE; b++) {
    const from = T0 + b * RANGE;
    const w = await BlockWriter.create(tenantDir, symbols, {
      minTime: from,
      maxTime: from + RANGE,
      externalLabels: { tenant_id: TENANT },
    });
    for (let s = 0; s < sets.length; s++) {
      const chunks = [];
      for (let i = 0; i < perBlock; i += PER_CHUNK) {
        const enc = new XOREncoder(256);
        const end = Math.min(perBlock, i + PER_CHUNK);
        for (let k = i; k < end; k++) {
          const n = b * perBlock + k;
          totals[s] = restarts(s, n) ? 0 : totals[s] + increment(s, n);
          enc.append(from + k * SCRAPE, Math.round(totals[s] * 100) / 100);
        }
        chunks.push({ minT: from + i * SCRAPE, maxT: from + (end - 1) * SCRAPE, data: enc.bytes().slice() });
      }
      await w.addSeries(sets[s], chunks);
    }
    await w.finish();
  }
}

/** raw 2 h blocks -> one 5m rollup per ROLLUP_DAYS -> its 1h rollup; the 5m rollups are removed (only 1h and raw are compared). */
async function writeRollups(tenantDir: string): Promise<number> {
  const raw = fs.readdirSync(tenantDir).sort();
  let n = 0;
  for (let d = 0; d < DAYS; d += ROLLUP_DAYS) {
    const lo = T0 + d * DAY;
    const hi = lo + ROLLUP_DAYS * DAY;
    const readers: BlockReader[] = [];
    for (const u of raw) {
      const r = await BlockReader.openDir(path.join(tenantDir, u));
      if (r.meta.minTime >= lo && r.meta.maxTime <= hi) readers.push(r);
      else await r.close();
    }
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-rq-5m-'));
    try {
      const m5 = await downsampleBlocks(readers, work, RES_5M);
      const r5 = await BlockReader.openDir(path.join(work, m5.ulid));
      await downsampleBlocks([r5], tenantDir, RES_1H);
      await r5.close();
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    for (const r of readers) await r.close();
    n++;
  }
  return n;
}

/** Every byte read from the bucket. */
function countingBucket(inner: Bucket): Bucket & { bytes: number } {
  const b = Object.create(inner) as Bucket & { bytes: number };
  b.bytes = 0;
  b.get = async (name) => {
    const buf = await inner.get(name);
    b.bytes += buf.length;
    return buf;
  };
  b.getRange = async (name, offset, length) => {
    const buf = await inner.getRange(name, offset, length);
    b.bytes += buf.length;
    return buf;
  };
  return b;
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

interface Measured {
  coldMs: number[];
  coldBytes: number[];
  warmMs: number[];
  warmBytes: number[];
  coldCpuMs: number[];
  /** This process's CPU time per warm run (user + system): at a machine load of 20, wall times mostly measure waiting for a core. */
  warmCpuMs: number[];
  matrix: RangeSeries[];
}

/** Where a query reads: the resolution it may use, and whether the engine reads the gateway in-process or over remote-read. */
interface Source {
  maxResolution: number;
  via: 'in-process' | 'remote-read';
}

function emptyMeasured(): Measured {
  return { coldMs: [], coldBytes: [], warmMs: [], warmBytes: [], warmCpuMs: [], coldCpuMs: [], matrix: [] };
}

/**
 * Cold runs of the query from each source, interleaved (raw, rollups, rollups over remote-read,
 * raw, ...): on a shared machine the load changes within seconds, and the ratio of two medians
 * measured a minute apart would measure that too. The warm runs follow each source's first cold one.
 */
async function measure(
  query: string,
  bucketDir: string,
  sources: Source[],
  start: number,
  end: number,
  colds: number,
  warms: number,
): Promise<Measured[]> {
  const outs = sources.map(emptyMeasured);
  for (let c = 0; c < colds; c++)
    for (let k = 0; k < sources.length; k++) await onFreshGateway(query, bucketDir, sources[k], start, end, c === 0 ? warms : 0, outs[k]);
  return outs;
}

/** One cold run on a fresh gateway (empty data dir and caches), then `warms` runs on the same gateway. */
async function onFreshGateway(
  query: string,
  bucketDir: string,
  { maxResolution, via }: Source,
  start: number,
  end: number,
  warms: number,
  out: Measured,
): Promise<void> {
  const engine = new Engine({ defaultResolution: 0 });
  const bucket = countingBucket(new FilesystemBucket(bucketDir));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-rq-gw-'));
  const gw = benchGateway(bucket, dataDir);
  let server: HttpServer | undefined;
  try {
    await gw.start();
    let q = gw.querier(TENANT);
    if (via === 'remote-read') {
      const router = new Router();
      const tenancy = { multiTenancy: true, header: 'X-Scope-OrgID' };
      mountQueryApi(router, { queryable: gw, engine, tenancy, storeInfo: () => gw.info() });
      server = new HttpServer({ router, registry: new Registry(), logger: pino({ level: 'silent' }) });
      const port = (await server.listen('127.0.0.1:0')).port;
      q = new RemoteStore({ url: `http://127.0.0.1:${port}`, tenantHeader: tenancy.header, timeoutMs: 600_000 }).querier(TENANT);
    }
    const run = async (ms: number[], bytes: number[], cpu: number[]) => {
      const b0 = bucket.bytes;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await engine.rangeQuery(q, query, start, end, H, { maxResolution });
      ms.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      bytes.push(bucket.bytes - b0);
      if (r.result.resultType !== 'matrix') throw new Error(`expected a matrix, got ${r.result.resultType}`);
      out.matrix = r.result.matrix;
    };
    await run(out.coldMs, out.coldBytes, out.coldCpuMs);
    for (let i = 0; i < warms; i++) await run(out.warmMs, out.warmBytes, out.warmCpuMs);
  } finally {
    await server?.close(100);
    await gw.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Steps whose windows reach the first hour of data or a join of two rollup blocks: there the
 * rollups' series holds the later block's first raw sample beside the hourly ones, which changes
 * rate()'s extrapolation (see the report).
 */
function nearJoin(t: number): boolean {
  const intoBlock = (t - T0) % (ROLLUP_DAYS * DAY);
  return t - T0 <= 2 * H || intoBlock <= H;
}

/** Per job and step, the relative difference of the rollup answer to the raw one; steps only one side has are counted. */
function compare(
  raw: RangeSeries[],
  rolled: RangeSeries[],
): { maxRel: number; p99Rel: number; maxAwayRel: number; points: number; onlyRaw: number; onlyRollup: number } {
  let maxAwayRel = 0;
  const byJob = new Map(rolled.map((s) => [s.labels.get('job'), s]));
  const rels: number[] = [];
  let onlyRaw = 0;
  let onlyRollup = 0;
  for (const r of raw) {
    const o = byJob.get(r.labels.get('job'));
    byJob.delete(r.labels.get('job'));
    const at = new Map<number, number>();
    if (o) for (let i = 0; i < o.timestamps.length; i++) at.set(o.timestamps[i], o.values[i]);
    for (let i = 0; i < r.timestamps.length; i++) {
      const v = at.get(r.timestamps[i]);
      if (v === undefined) {
        onlyRaw++;
        continue;
      }
      at.delete(r.timestamps[i]);
      const rel = Math.abs(v - r.values[i]) / Math.max(Math.abs(r.values[i]), 1e-12);
      rels.push(rel);
      if (!nearJoin(r.timestamps[i])) maxAwayRel = Math.max(maxAwayRel, rel);
    }
    onlyRollup += at.size;
  }
  for (const s of byJob.values()) onlyRollup += s.timestamps.length;
  rels.sort((a, b) => a - b);
  return {
    maxRel: rels.length ? rels[rels.length - 1] : NaN,
    p99Rel: rels.length ? rels[Math.floor(rels.length * 0.99)] : NaN,
    maxAwayRel,
    points: rels.length,
    onlyRaw,
    onlyRollup,
  };
}

/** Bytes of the named block folders. */
function blocksBytes(tenantDir: string, ulids: string[]): number {
  let n = 0;
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else n += fs.statSync(p).size;
    }
  };
  for (const u of ulids) walk(path.join(tenantDir, u));
  return n;
}

export async function runRollupQueryBench(o: { series: number; colds: number; warms: number }): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-rq-'));
  try {
    const bucketDir = path.join(root, 'bucket');
    const tenantDir = path.join(bucketDir, TENANT);
    fs.mkdirSync(tenantDir, { recursive: true });
    const sets = labelSets(o.series);
    const b0 = performance.now();
    await writeRawBlocks(tenantDir, sets);
    const rawBlocks = fs.readdirSync(tenantDir);
    const rawBytes = blocksBytes(tenantDir, rawBlocks);
    const b1 = performance.now();
    const rollups = await writeRollups(tenantDir);
    const b2 = performance.now();
    const rollupBytes = blocksBytes(
      tenantDir,
      fs.readdirSync(tenantDir).filter((u) => !rawBlocks.includes(u)),
    );
    const start = T0 + H;
    const end = T0 + DAYS * DAY;
    const mb = (x: number) => (x / 1e6).toFixed(2);
    const rows: string[] = [];
    const notes: string[] = [];
    const answers: RangeSeries[][][] = [];
    const note = (what: string, d: ReturnType<typeof compare>) =>
      notes.push(
        `- ${what}: ${d.points} (job, step) points in both answers, relative difference max ${(d.maxRel * 100).toFixed(2)} %, ` +
          `p99 ${(d.p99Rel * 100).toFixed(2)} %, max away from the first hour and rollup block joins ${(d.maxAwayRel * 100).toFixed(2)} %; points only in the raw answer ${d.onlyRaw}, only in the rollup answer ${d.onlyRollup}.`,
      );
    for (const query of QUERIES) {
      const sources: Source[] = [
        { maxResolution: 0, via: 'in-process' },
        { maxResolution: RES_1H, via: 'in-process' },
        { maxResolution: RES_1H, via: 'remote-read' },
      ];
      const [raw, rolled, remote] = await measure(query, bucketDir, sources, start, end, o.colds, o.warms);
      answers.push([raw.matrix, rolled.matrix]);
      note(`\`${query}\`, raw against rollups`, compare(raw.matrix, rolled.matrix));
      // Through remote-read the answer must be the in-process one, to the bit.
      const bits = (m: RangeSeries[]) => JSON.stringify(m.map((x) => [x.labels.key(), Array.from(x.timestamps), Array.from(x.values)]));
      if (bits(remote.matrix) !== bits(rolled.matrix))
        throw new Error(`${query}: the rollup answer over remote-read differs from the in-process one`);
      for (const [name, m] of [
        ['raw 2 h blocks (max_source_resolution 0)', raw],
        ['1 h rollups (max_source_resolution 1h)', rolled],
        ['1 h rollups over remote-read (separate querier)', remote],
      ] as const)
        rows.push(
          `| \`${query}\` | ${name} | ${median(m.coldMs).toFixed(0)} | ${median(m.coldCpuMs).toFixed(0)} | ${mb(median(m.coldBytes))} MB | ${median(m.warmMs).toFixed(0)} | ${median(m.warmCpuMs).toFixed(0)} | ${mb(median(m.warmBytes))} MB |`,
        );
      for (const [name, m] of [
        ['raw / rollups', rolled],
        ['raw / rollups over remote-read', remote],
      ] as const)
        rows.push(
          `| | **${name}** | **${(median(raw.coldMs) / median(m.coldMs)).toFixed(1)}x** | **${(median(raw.coldCpuMs) / median(m.coldCpuMs)).toFixed(1)}x** | ` +
            `**${(median(raw.coldBytes) / median(m.coldBytes)).toFixed(1)}x** | **${(median(raw.warmMs) / median(m.warmMs)).toFixed(1)}x** | ` +
            `**${(median(raw.warmCpuMs) / median(m.warmCpuMs)).toFixed(1)}x** | |`,
        );
    }
    // At step t, rollups' rate over [2h] reads the counter at the ends of the two hourly windows
    // before t: the rate over the last whole hour, which is what raw data's rate over [1h] is.
    note(`the same hour: raw \`[1h]\` against rollups' \`[2h]\``, compare(answers[0][0], answers[1][1]));
    const samples = o.series * ((DAYS * DAY) / SCRAPE);
    return [
      `## 30-day rate queries at 1 h step: 1 h rollups vs raw 2 h blocks (store gateway + engine in-process, and rollups over remote-read)`,
      '',
      `${o.series} counters (half integer request counts, half CPU seconds in hundredths) at ${SCRAPE / 1000} s scrapes over ${DAYS} d = ` +
        `${(samples / 1e6).toFixed(1)} M samples; ${rawBlocks.length} raw 2 h blocks (${mb(rawBytes)} MB, written in ${((b1 - b0) / 1000).toFixed(0)} s) and ` +
        `${rollups} rollup blocks of 1 h resolution, ${ROLLUP_DAYS} d each, made raw -> 5m -> 1h by tsdb's downsampling (${mb(rollupBytes)} MB, in ${((b2 - b1) / 1000).toFixed(0)} s), ` +
        `in one local-folder bucket. Median of ${o.colds} cold runs (a fresh gateway each: no index headers, empty caches; the three sources' cold runs interleaved) and ${o.warms} warm runs; ` +
        `bytes fetched = every get/getRange from the bucket during the query; CPU = this process's user + system CPU time per query ` +
        `(over remote-read: the gateway's and the querier's, both in this process).`,
      '',
      '| query | source | cold ms | cold CPU ms | cold bytes fetched | warm ms | warm CPU ms | warm bytes fetched |',
      '|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      'Goal: ≥ 10x faster and ≥ 20x fewer bytes. Rollup answer against raw answer:',
      '',
      ...notes,
    ].join('\n');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
