/**
 * Native histograms in Strata's blocks against the real peer: native histograms go through a
 * DB's appender, the head is cut into blocks, and a real Prometheus 2.42 opens those blocks as
 * its own storage. PromQL answers (raw histograms, histogram functions, rate over histograms)
 * from Prometheus equal Strata's over the same blocks, and Strata's over the blocks equal its
 * answers over the head before the cut. The reverse: histograms remote-written into a real
 * Prometheus, which writes its head as a block (the admin snapshot); Strata reads that block and
 * answers as Prometheus does.
 *
 * promtool 2.42's `tsdb dump` prints float samples only (it stops a series at its first
 * histogram), so Prometheus itself reads the blocks here. Custom buckets (schema -53) are left
 * out: Prometheus 2.42 predates them and cannot read their chunks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CounterResetHint, Labels, type FloatHistogram } from '@strata/model';
import { Engine, histogramJson, type HistogramJson, type QueryResult } from '@strata/promql';
import { encodeWriteRequestV1, snappyEncode, type SeriesToWrite, type WireHistogram } from '@strata/remote';
import { BlockReader, BlockSetQuerier, STALE_NAN, TSDB, type HistogramSample } from '@strata/tsdb';

const PROMETHEUS = '/usr/bin/prometheus';
const RANGE = 2 * 3600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % RANGE);
const END = T0 + 3 * 3600_000;
const STEP = 30_000;

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-hprom-'));
  dirs.push(d);
  return d;
}
const procs: ChildProcess[] = [];
afterAll(() => {
  procs.forEach((p) => p.kill('SIGKILL'));
  dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** An integer or float histogram from absolute counts of consecutive positive buckets starting at `offset`. */
function hist(
  counts: number[],
  opts: { float?: boolean; offset?: number; schema?: number; neg?: number; zero?: number; sum?: number },
): HistogramSample {
  const float = opts.float ?? false;
  const neg = opts.neg ?? 0;
  const zero = opts.zero ?? 0;
  const count = counts.reduce((a, b) => a + b, 0) + neg + zero;
  return {
    schema: opts.schema ?? 0,
    zeroThreshold: 0.001,
    zeroCount: zero,
    count,
    sum: opts.sum ?? count * 0.75,
    positiveSpans: counts.length > 0 ? [{ offset: opts.offset ?? 0, length: counts.length }] : [],
    positiveBuckets: float ? counts : counts.map((c, k) => c - (k > 0 ? counts[k - 1] : 0)),
    negativeSpans: neg > 0 ? [{ offset: 1, length: 1 }] : [],
    negativeBuckets: neg > 0 ? [neg] : [],
    customValues: [],
  };
}

const STALE: HistogramSample = { ...hist([], {}), sum: STALE_NAN };

/** One sample to write: a float, or a histogram with the sender's counter-reset hint. */
interface Event {
  labels: Record<string, string>;
  t: number;
  value?: number;
  h?: HistogramSample;
  float?: boolean;
  hint?: CounterResetHint;
}

/**
 * Three hours of samples every 30 s, one scrape's worth per inner array: counters with a new
 * bucket, a reset, a schema change and a stale gap; a gauge; a series switching kinds.
 */
function scrapes(): Event[][] {
  const out: Event[][] = [];
  // Samples 7 s off the query's 60 s steps: no sample lies on a range's left end, which Prometheus
  // 2.42 includes and Prometheus 3 (and Strata) leaves out.
  for (let t = T0 + 7_000, i = 0; t < END; t += STEP, i++) {
    const e: Event[] = [];
    // Integer counters, far from zero (rate's extrapolation towards zero changed after 2.42): a
    // bucket appears at i=100 and the schema goes to 1 from i=300; lat_int also has a reset at
    // i=200 and is stale at i=250..252.
    for (const name of ['lat_int', 'lat_steady']) {
      const steady = name === 'lat_steady';
      const n = steady || i < 200 ? i + 1000 : i - 200 + 300;
      const counts = [n, 2 * n, ...(i >= 100 ? [i - 100] : [])];
      const labels = { __name__: name, job: 'a' };
      if (!steady && i >= 250 && i < 253) e.push({ labels, t, h: STALE, hint: CounterResetHint.Unknown });
      else
        e.push({
          labels,
          t,
          h: hist(counts, { schema: i >= 300 ? 1 : 0, offset: -1, neg: n, zero: n }),
          hint: !steady && i === 200 ? CounterResetHint.CounterReset : CounterResetHint.Unknown,
        });
    }
    // Float counter whose quartiles fall on bucket bounds (1 and 2): histogram_quantile's
    // interpolation inside a bucket changed after 2.42, its answer at a bound did not.
    const f = i * 0.5 + 100;
    e.push({ labels: { __name__: 'lat_float', job: 'b' }, t, h: hist([f, 2 * f, f], { float: true }), float: true });
    const g = 10 + 8 * Math.sin(i / 9);
    e.push({
      labels: { __name__: 'queue_h', job: 'c' },
      t,
      h: hist([Math.round(g), Math.round(g / 2)], { offset: 2, sum: g * 3 }),
      hint: CounterResetHint.Gauge,
    });
    // Floats for the first hour, histograms after: one series, chunks of both encodings.
    const mixed = { __name__: 'mixed', job: 'd' };
    e.push(i < 120 ? { labels: mixed, t, value: i * 2 } : { labels: mixed, t, h: hist([i, i], { float: true }), float: true });
    out.push(e);
  }
  return out;
}

async function ingest(db: TSDB): Promise<void> {
  const t = await db.tenant('t');
  for (const scrape of scrapes()) {
    const app = t.appender();
    for (const e of scrape) {
      const ref = app.ref(Labels.fromObject(e.labels));
      if (e.h) app.appendHistogram(ref, e.t, e.h, e.float ?? false, e.hint ?? CounterResetHint.Unknown);
      else app.append(ref, e.t, e.value!);
    }
    await app.commit();
  }
}

const QUERIES = [
  'lat_int',
  'lat_float',
  'queue_h',
  'mixed',
  'histogram_count(lat_int)',
  'histogram_sum(lat_float)',
  'histogram_quantile(0.25, lat_float)',
  'histogram_quantile(0.75, lat_float)',
  'histogram_fraction(0, 2, lat_float)',
  'histogram_fraction(0, 1, queue_h)',
  'rate(lat_steady[5m])',
  'rate(lat_int[5m])',
  'increase(lat_float[10m])',
  'histogram_quantile(0.75, sum(rate(lat_float[5m])))',
  'histogram_count(sum by (job) (rate(lat_float[5m])))',
  'histogram_sum(rate(lat_steady[10m]))',
  'histogram_count(increase(lat_steady[15m]))',
];

/** A query answer keyed by series and time: a float, or a histogram as the HTTP API gives it. */
type Answer = Map<string, number | HistogramJson>;

function strataAnswer(r: QueryResult): Answer {
  const out: Answer = new Map();
  if (r.resultType !== 'matrix') throw new Error(`matrix expected, got ${r.resultType}`);
  for (const s of r.matrix) {
    const key = s.labels.toString();
    for (let i = 0; i < s.timestamps.length; i++) {
      const h: FloatHistogram | undefined = s.histograms?.[i];
      out.set(`${key}@${s.timestamps[i]}`, h ? histogramJson(h) : s.values[i]);
    }
  }
  return out;
}

interface PromSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  histograms?: [number, HistogramJson][];
}

function promAnswer(result: PromSeries[]): Answer {
  const out: Answer = new Map();
  for (const s of result) {
    const key = Labels.fromObject(s.metric).toString();
    for (const [t, v] of s.values ?? []) out.set(`${key}@${Math.round(t * 1000)}`, Number(v));
    for (const [t, h] of s.histograms ?? []) out.set(`${key}@${Math.round(t * 1000)}`, h);
  }
  return out;
}

function close(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/** Differences between two answers (empty when equal within float rounding). */
function diff(got: Answer, want: Answer): string[] {
  const out: string[] = [];
  for (const k of new Set([...got.keys(), ...want.keys()])) {
    const a = got.get(k);
    const b = want.get(k);
    if (a === undefined || b === undefined) {
      out.push(`${k}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      continue;
    }
    if (typeof a === 'number' || typeof b === 'number') {
      if (typeof a !== typeof b || !close(a as number, b as number)) out.push(`${k}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      continue;
    }
    const same =
      close(Number(a.count), Number(b.count)) &&
      close(Number(a.sum), Number(b.sum)) &&
      (a.buckets ?? []).length === (b.buckets ?? []).length &&
      (a.buckets ?? []).every((x, i) => {
        const y = b.buckets![i];
        return x[0] === y[0] && close(Number(x[1]), Number(y[1])) && close(Number(x[2]), Number(y[2])) && close(Number(x[3]), Number(y[3]));
      });
    if (!same) out.push(`${k}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
  return out;
}

function configIn(dir: string): string {
  const cfg = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(cfg, 'global:\n  scrape_interval: 1h\n');
  return cfg;
}

/** Starts a Prometheus over `data` and waits until it is ready. */
async function startPrometheus(cfg: string, data: string, extra: string[] = []): Promise<{ url: string; stderr: () => string }> {
  const port = await freePort();
  const p = spawn(
    PROMETHEUS,
    [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=100y',
      '--storage.tsdb.min-block-duration=2h',
      '--storage.tsdb.max-block-duration=2h',
      '--enable-feature=native-histograms',
      '--log.level=warn',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  procs.push(p);
  let err = '';
  p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${url}/-/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return { url, stderr: () => err };
    if (Date.now() > deadline || p.exitCode !== null) throw new Error(`prometheus did not get ready: ${err}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Prometheus' answer to a range query over the test's span. */
async function promRange(url: string, q: string): Promise<Answer> {
  const params = new URLSearchParams({ query: q, start: String(T0 / 1000), end: String(END / 1000), step: '60' });
  const body = (await (await fetch(`${url}/api/v1/query_range?${params}`)).json()) as {
    status: string;
    error?: string;
    data: { result: PromSeries[] };
  };
  expect({ q, status: body.status, error: body.error }).toEqual({ q, status: 'success', error: undefined });
  return promAnswer(body.data.result);
}

test('Prometheus 2.42 opens Strata blocks with native histograms and answers PromQL as Strata does', async () => {
  const dir = tmp();
  const db = await TSDB.open({
    dir,
    fsync: 'none',
    blockDurationMs: RANGE,
    head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 },
  });
  const engine = new Engine();
  const t = await db.tenant('t');
  const range = (q: string) => engine.rangeQuery(t.querier(), q, T0, END, 60_000);
  try {
    await ingest(db);
    const overHead = new Map<string, Answer>();
    for (const q of QUERIES) overHead.set(q, strataAnswer((await range(q)).result));
    const metas = await db.compactAll(true);
    expect(metas.length).toBe(2);
    expect(t.head.stats().numSeries).toBe(0);
    const overBlocks = new Map<string, Answer>();
    for (const q of QUERIES) {
      overBlocks.set(q, strataAnswer((await range(q)).result));
      expect(diff(overBlocks.get(q)!, overHead.get(q)!)).toEqual([]);
    }

    const data = path.join(tmp(), 'data');
    fs.mkdirSync(data);
    for (const m of metas) fs.cpSync(path.join(t.blocksDir, m.ulid), path.join(data, m.ulid), { recursive: true });
    const cfg = configIn(path.dirname(data));
    const { url, stderr } = await startPrometheus(cfg, data);
    const diffs: { q: string; diff: string[] }[] = [];
    for (const q of QUERIES) {
      const want = await promRange(url, q);
      expect(want.size).toBeGreaterThan(0);
      diffs.push({ q, diff: diff(overBlocks.get(q)!, want).slice(0, 3) });
    }
    expect(diffs.filter((d) => d.diff.length > 0)).toEqual([]);
    // Every block Strata wrote is one Prometheus loaded (none refused as corrupt).
    expect(stderr()).not.toMatch(/corrupt|invalid|error/i);
  } finally {
    await db.close();
  }
}, 120_000);

test('a block Prometheus 2.42 writes with native histograms is read by Strata, which answers PromQL over it as Prometheus does', async () => {
  const root = tmp();
  const data = path.join(root, 'data');
  const { url, stderr } = await startPrometheus(configIn(root), data, ['--web.enable-remote-write-receiver', '--web.enable-admin-api']);
  // Remote-write into Prometheus' head, 20 scrapes per request.
  const all = scrapes();
  for (let k = 0; k < all.length; k += 20) {
    const bySeries = new Map<string, SeriesToWrite & { timestamps: number[]; values: number[]; histograms: WireHistogram[] }>();
    for (const e of all.slice(k, k + 20).flat()) {
      // Gauge histograms make Prometheus 2.42's own block writer fail ("detected unexpected
      // counter reset in histogram" while re-encoding a head chunk): that version cannot write them.
      if (e.hint === CounterResetHint.Gauge) continue;
      const key = JSON.stringify(e.labels);
      let s = bySeries.get(key);
      if (!s) bySeries.set(key, (s = { labels: Labels.fromObject(e.labels), timestamps: [], values: [], histograms: [] }));
      if (!e.h) {
        s.timestamps.push(e.t);
        s.values.push(e.value!);
        continue;
      }
      const h = e.h;
      s.histograms.push({
        t: e.t,
        float: e.float ?? false,
        schema: h.schema,
        zeroThreshold: h.zeroThreshold,
        zeroCount: h.zeroCount,
        count: h.count,
        sum: h.sum,
        resetHint: e.hint ?? CounterResetHint.Unknown,
        positiveSpans: [...h.positiveSpans],
        positiveBuckets: Array.from(h.positiveBuckets),
        negativeSpans: [...h.negativeSpans],
        negativeBuckets: Array.from(h.negativeBuckets),
        customValues: [],
      });
    }
    const res = await fetch(`${url}/api/v1/write`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-protobuf',
        'Content-Encoding': 'snappy',
        'X-Prometheus-Remote-Write-Version': '0.1.0',
      },
      body: snappyEncode(encodeWriteRequestV1([...bySeries.values()])),
    });
    expect({ status: res.status, body: await res.text() }).toEqual({ status: 204, body: '' });
  }
  // The admin snapshot writes Prometheus' head as a block, with its own compactor.
  const snapRes = await fetch(`${url}/api/v1/admin/tsdb/snapshot`, { method: 'POST' });
  const snapText = await snapRes.text();
  if (snapRes.status !== 200) throw new Error(`snapshot: ${snapRes.status} ${snapText}`);
  const snap = JSON.parse(snapText) as { data: { name: string } };
  const snapDir = path.join(data, 'snapshots', snap.data.name);
  const readers = await Promise.all(fs.readdirSync(snapDir).map((b) => BlockReader.openDir(path.join(snapDir, b))));
  try {
    expect(readers.length).toBeGreaterThan(0);
    const engine = new Engine();
    const q = new BlockSetQuerier(readers);
    const diffs: { q: string; diff: string[] }[] = [];
    for (const query of QUERIES.filter((x) => !x.includes('queue_h'))) {
      const want = await promRange(url, query);
      expect(want.size).toBeGreaterThan(0);
      const got = strataAnswer((await engine.rangeQuery(q, query, T0, END, 60_000)).result);
      diffs.push({ q: query, diff: diff(got, want).slice(0, 3) });
    }
    expect(diffs.filter((d) => d.diff.length > 0)).toEqual([]);
    expect(stderr()).not.toMatch(/error/i);
  } finally {
    for (const r of readers) await r.close();
  }
}, 120_000);
