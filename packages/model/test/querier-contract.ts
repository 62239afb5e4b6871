/**
 * The behaviour every Querier must have, run against each implementation (head, blocks, store
 * gateway, fan-out, remote store): one fixed dataset, and every answer compared with a reference
 * computed from that dataset in memory. Each runner loads the dataset into its store with
 * `make` and calls querierContract from a test file of its own package.
 *
 * What is checked: select over a table of matcher sets × time ranges (series sorted by labels,
 * timestamps exact, values compared by their 64 bits so NaN payloads and the staleness marker
 * count), hints.limit, series(), labelNames() and labelValues() with and without matchers and
 * time ranges.
 *
 * Time ranges of the label APIs: Prometheus lets block-based stores answer series/labels
 * approximately over a time range (a block, or a head series, counts as a whole). An
 * implementation states how it is approximate with a LabelTimeTolerance; the suite then checks
 * that the answer holds at least what the samples in the range imply and at most what the
 * tolerance allows. Without a tolerance the answer must be exact. select is always exact.
 *
 * A new store joins with a test file in its package's test/ folder calling querierContract
 * with a factory that loads DATASET (forEachSampleInTimeOrder helps with appenders). A case it
 * cannot pass is skipped only through `lacks` (a capability it genuinely lacks, with the
 * reason) or `knownBugs` (named "KNOWN BUG: ..."), never by leaving it out.
 */
import {
  Labels,
  Matcher,
  RawPacker,
  selectRawIntoOf,
  unpackRaw,
  inQueryShards,
  queryShardMatcher,
  type Querier,
  type RawSeries,
  type SelectHints,
  type Series,
  mulberry32,
} from '../src/index.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
/** Block range the runners cut blocks with: the dataset spans several of them. */
export const BLOCK_MS = HOUR;
/** First sample time: aligned to a block boundary, so the first block starts with the data. */
export const T0 = Math.ceil(1.7e12 / BLOCK_MS) * BLOCK_MS;
const STEP = 30_000;
/** Data ends within the fourth block: 3 full blocks and a partial one (the head's, in a TSDB). */
export const T_END = T0 + 3 * HOUR + 20 * MINUTE;

export interface Dataset {
  /** Every series once, sorted by labels; samples in ascending time order. */
  readonly series: readonly Series[];
  readonly minTime: number;
  readonly maxTime: number;
}

const STALE = [0x7ff00000, 0x00000002] as const; // Prometheus' staleness marker, 0x7ff0000000000002
const GO_NAN = [0x7ff80000, 0x00000001] as const; // math.NaN() in Go, what Prometheus writes for NaN
const JS_NAN = [0x7ff80000, 0x00000000] as const;
const NEG_ZERO = [0x80000000, 0x00000000] as const;

type Kind = 'counter' | 'mixed' | 'stale-every-7th' | 'inf' | 'nan';

interface SeriesSpec {
  labels: Record<string, string>;
  kind: Kind;
  /** Time windows holding samples, relative to T0; default the whole dataset. */
  windows?: [number, number][];
}

const specs: SeriesSpec[] = [];
// 9 request counters: job × instance × code, plus instance "ab" (regexes must be fully anchored).
for (const job of ['api', 'web'])
  for (const instance of ['a', 'b'])
    for (const code of ['200', '500']) specs.push({ labels: { __name__: 'http_requests_total', job, instance, code }, kind: 'counter' });
specs.push({ labels: { __name__: 'http_requests_total', job: 'api', instance: 'ab', code: '200' }, kind: 'counter' });
// 9 cpu series; `env` only on instance a. An empty value is no label at all (instance b's env="").
for (const mode of ['user', 'system', 'idle'])
  for (const instance of ['a', 'b', 'c'])
    specs.push({
      labels: { __name__: 'cpu_seconds', mode, instance, ...(instance === 'a' ? { env: 'prod' } : instance === 'b' ? { env: '' } : {}) },
      kind: 'counter',
    });
// 4 up series, one with an upper-case job for (?i) and one more with env.
specs.push({ labels: { __name__: 'up', job: 'api', instance: 'a' }, kind: 'counter' });
specs.push({ labels: { __name__: 'up', job: 'web', instance: 'a' }, kind: 'counter' });
specs.push({ labels: { __name__: 'up', job: 'API', instance: 'b' }, kind: 'counter' });
specs.push({ labels: { __name__: 'up', job: 'db', instance: 'c', env: 'staging' }, kind: 'counter' });
// Special values, bit for bit.
specs.push({ labels: { __name__: 'special', kind: 'mixed' }, kind: 'mixed' });
specs.push({ labels: { __name__: 'special', kind: 'stale' }, kind: 'stale-every-7th' });
specs.push({ labels: { __name__: 'special', kind: 'inf' }, kind: 'inf' });
specs.push({ labels: { __name__: 'special', kind: 'nan' }, kind: 'nan' });
// Series living in part of the time range only, and one with a two-hour hole.
specs.push({ labels: { __name__: 'gappy', phase: 'early' }, kind: 'counter', windows: [[0, 50 * MINUTE]] });
specs.push({ labels: { __name__: 'gappy', phase: 'late' }, kind: 'counter', windows: [[3 * HOUR, 3 * HOUR + 20 * MINUTE]] });
specs.push({
  labels: { __name__: 'gappy', phase: 'holes', env: 'prod' },
  kind: 'counter',
  windows: [
    [0, 55 * MINUTE],
    [3 * HOUR + 5 * MINUTE, 3 * HOUR + 20 * MINUTE],
  ],
});
// Label values that need quoting and UTF-8.
specs.push({ labels: { __name__: 'odd', path: '/a"b\\c' }, kind: 'counter' });
specs.push({ labels: { __name__: 'odd', path: 'é ü/€' }, kind: 'counter' });

function valueBits(kind: Kind, s: number, i: number): readonly [number, number] {
  const f = new Float64Array(1);
  const u = new Uint32Array(f.buffer);
  const num = (v: number) => ((f[0] = v), [u[1], u[0]] as const);
  switch (kind) {
    case 'counter':
      return num(i * (s + 1) + (s % 3) * 0.25);
    case 'stale-every-7th':
      return i % 7 === 6 ? STALE : num(i);
    case 'inf':
      return num(i % 2 === 0 ? Infinity : -Infinity);
    case 'nan':
      return i % 2 === 0 ? GO_NAN : JS_NAN;
    case 'mixed': {
      const cycle = [
        num(0),
        NEG_ZERO,
        GO_NAN,
        num(Infinity),
        num(-Infinity),
        STALE,
        num(Number.MAX_VALUE),
        num(Number.MIN_VALUE),
        num(-1.5),
        JS_NAN,
      ];
      return cycle[i % cycle.length];
    }
  }
}

function build(): Dataset {
  const series: Series[] = specs.map((spec, s) => {
    const windows = spec.windows ?? [[0, T_END - T0]];
    const ts: number[] = [];
    // Each series has its own phase within the step, so series do not share timestamps.
    for (const [a, b] of windows) for (let t = T0 + a + ((s * 997) % STEP); t <= T0 + b; t += STEP) ts.push(t);
    const values = new Float64Array(ts.length);
    const bits = new Uint32Array(values.buffer);
    ts.forEach((_, i) => {
      const [hi, lo] = valueBits(spec.kind, s, i);
      bits[2 * i] = lo;
      bits[2 * i + 1] = hi;
    });
    return { labels: Labels.fromObject(spec.labels), timestamps: Float64Array.from(ts), values };
  });
  series.sort((a, b) => Labels.compare(a.labels, b.labels));
  return {
    series,
    minTime: Math.min(...series.map((s) => s.timestamps[0])),
    maxTime: Math.max(...series.map((s) => s.timestamps[s.timestamps.length - 1])),
  };
}

export const DATASET: Dataset = build();

/**
 * Calls fn for every sample of the dataset in ascending time order over all series (what a
 * store without an out-of-order window accepts), with the value's exact bits.
 */
export function forEachSampleInTimeOrder(ds: Dataset, fn: (series: Series, t: number, v: number) => void): void {
  const pos = ds.series.map(() => 0);
  for (;;) {
    let best = -1;
    for (let s = 0; s < ds.series.length; s++) {
      if (pos[s] < ds.series[s].timestamps.length && (best < 0 || ds.series[s].timestamps[pos[s]] < ds.series[best].timestamps[pos[best]]))
        best = s;
    }
    if (best < 0) return;
    const sr = ds.series[best];
    fn(sr, sr.timestamps[pos[best]], sr.values[pos[best]]);
    pos[best]++;
  }
}

/** The part of a dataset whose series satisfy `keep` (for stores holding a share of it). */
export function subset(ds: Dataset, keep: (s: Series, index: number) => boolean): Dataset {
  return { ...ds, series: ds.series.filter(keep) };
}

/** The samples of a dataset in [from, to] (inclusive), series without any dropped. */
export function timeSlice(ds: Dataset, from: number, to: number): Dataset {
  const series = ds.series.map((s) => samplesIn(s, from, to)).filter((s): s is Series => s !== undefined);
  return { ...ds, series };
}

/**
 * How a store's label APIs may over-answer for a time range. A series matching the matchers
 * may then be included although none of its samples is in the range when:
 */
export interface LabelTimeTolerance {
  /** its first-to-last sample span overlaps the range (a head tracks min/max time per series); */
  seriesSpan?: boolean;
  /** it has a sample in one of these blocks ([minTime, maxTime), as meta.json) overlapping the range. */
  blocks?: readonly { minTime: number; maxTime: number }[];
}

export interface QuerierUnderTest {
  querier: Querier;
  cleanup: () => Promise<void>;
  labelTimeTolerance?: LabelTimeTolerance;
}

export interface ContractOptions {
  /**
   * Capabilities an implementation genuinely lacks, with the reason: each case whose name the
   * pattern matches is registered as a test.skip carrying the reason in its name.
   */
  lacks?: { cases: RegExp; reason: string }[];
  /** Cases failing because of a known, described bug (by pattern or exact names): test.skip named "KNOWN BUG: ...". */
  knownBugs?: { cases: RegExp | readonly string[]; bug: string }[];
  /**
   * For a querier with selectRaw: the decoder of its raw series (tsdb's decodeRawSeries). Then
   * selectRaw, decoded, must answer exactly what select does, over every case select has.
   */
  decodeRaw?: (r: RawSeries, from: number, to: number) => Series | undefined;
}

const m = (type: '=' | '!=' | '=~' | '!~', name: string, value: string) => new Matcher(type, name, value);

/** Matcher sets, named as PromQL selectors. Each must be non-empty (a selector always has one). */
export const MATCHER_SETS: [string, Matcher[]][] = [
  ['{__name__="http_requests_total"}', [m('=', '__name__', 'http_requests_total')]],
  ['{__name__="http_requests_total",code!="200"}', [m('=', '__name__', 'http_requests_total'), m('!=', 'code', '200')]],
  ['{__name__=~"http_.*|cpu_seconds"}', [m('=~', '__name__', 'http_.*|cpu_seconds')]],
  ['{__name__!~"http_.*",instance="a"}', [m('!~', '__name__', 'http_.*'), m('=', 'instance', 'a')]],
  ['{instance=~"b"} (anchored: not "ab")', [m('=~', 'instance', 'b')]],
  ['{instance=~"a.*",instance!="ab"}', [m('=~', 'instance', 'a.*'), m('!=', 'instance', 'ab')]],
  ['{job=~"(?i)API"}', [m('=~', 'job', '(?i)API')]],
  ['{mode=~"(?i)USER|idle"} ((?i) covers the alternation)', [m('=~', 'mode', '(?i)USER|idle')]],
  [
    '{__name__="cpu_seconds",instance=~"a|c",mode!~"idle|sys.*"}',
    [m('=', '__name__', 'cpu_seconds'), m('=~', 'instance', 'a|c'), m('!~', 'mode', 'idle|sys.*')],
  ],
  ['{job=~"api|web",code=~"5.."}', [m('=~', 'job', 'api|web'), m('=~', 'code', '5..')]],
  ['{__name__="cpu_seconds",env=""}', [m('=', '__name__', 'cpu_seconds'), m('=', 'env', '')]],
  ['{env!=""}', [m('!=', 'env', '')]],
  ['{env=~".+"}', [m('=~', 'env', '.+')]],
  ['{env=~".*"} (matches every series)', [m('=~', 'env', '.*')]],
  ['{__name__="up",env!~".+"}', [m('=', '__name__', 'up'), m('!~', 'env', '.+')]],
  ['{__name__="up",job!~""}', [m('=', '__name__', 'up'), m('!~', 'job', '')]],
  ['{__name__=~"cpu_seconds|"} (regex matching "" too)', [m('=~', '__name__', 'cpu_seconds|')]],
  ['{missing="x"}', [m('=', 'missing', 'x')]],
  ['{__name__="up",missing=""}', [m('=', '__name__', 'up'), m('=', 'missing', '')]],
  ['{__name__="cpu_seconds",missing!="x"}', [m('=', '__name__', 'cpu_seconds'), m('!=', 'missing', 'x')]],
  ['{__name__="up",missing=~"x|"}', [m('=', '__name__', 'up'), m('=~', 'missing', 'x|')]],
  ['{__name__="up",missing!~".*"} (nothing)', [m('=', '__name__', 'up'), m('!~', 'missing', '.*')]],
  ['{__name__="special"}', [m('=', '__name__', 'special')]],
  ['{__name__="gappy"}', [m('=', '__name__', 'gappy')]],
  ['{path="/a\\"b\\\\c"}', [m('=', 'path', '/a"b\\c')]],
  ['{path=~".*€"}', [m('=~', 'path', '.*€')]],
  ['{__name__=~".+"} (every series)', [m('=~', '__name__', '.+')]],
];

export const TIME_RANGES: [string, SelectHints][] = [
  ['all time (±Infinity)', { start: -Infinity, end: Infinity }],
  ['exactly the data bounds', { start: DATASET.minTime, end: DATASET.maxTime }],
  ['overlapping the start of the data', { start: T0 - 30 * MINUTE, end: T0 + 20 * MINUTE }],
  ['overlapping the end of the data', { start: T_END - 20 * MINUTE, end: T_END + HOUR }],
  ['inside one block', { start: T0 + HOUR + 5 * MINUTE, end: T0 + HOUR + 35 * MINUTE }],
  ['across two block boundaries', { start: T0 + 50 * MINUTE, end: T0 + 2 * HOUR + 10 * MINUTE }],
  ['one instant on a block boundary', { start: T0 + HOUR, end: T0 + HOUR }],
  ['one instant on a sample', { start: DATASET.series[0].timestamps[100], end: DATASET.series[0].timestamps[100] }],
  ['before all data', { start: T0 - 2 * HOUR, end: T0 - 1 }],
  ['after all data', { start: T_END + 1, end: T_END + 2 * HOUR }],
];

function matches(labels: Labels, ms: readonly Matcher[]): boolean {
  return ms.every((x) => x.matches(labels.get(x.name)));
}

function samplesIn(s: Series, from: number, to: number): Series | undefined {
  let a = 0;
  while (a < s.timestamps.length && s.timestamps[a] < from) a++;
  let b = a;
  while (b < s.timestamps.length && s.timestamps[b] <= to) b++;
  return a === b ? undefined : { labels: s.labels, timestamps: s.timestamps.subarray(a, b), values: s.values.subarray(a, b) };
}

/** The exact answer of select: matching series with their samples in the range; none left out. */
export function referenceSelect(ds: Dataset, ms: readonly Matcher[], h: SelectHints): Series[] {
  const out = ds.series
    .filter((s) => matches(s.labels, ms))
    .map((s) => samplesIn(s, h.start, h.end))
    .filter((s): s is Series => s !== undefined);
  return h.limit ? out.slice(0, h.limit) : out;
}

/** Series the label APIs may include under a tolerance (a superset of those with samples in the range). */
function allowedSeries(ds: Dataset, ms: readonly Matcher[], h: SelectHints, tol: LabelTimeTolerance | undefined): Series[] {
  return ds.series.filter((s) => {
    if (!matches(s.labels, ms)) return false;
    if (samplesIn(s, h.start, h.end)) return true;
    if (tol?.seriesSpan && s.timestamps[0] <= h.end && s.timestamps[s.timestamps.length - 1] >= h.start) return true;
    for (const b of tol?.blocks ?? []) if (b.minTime <= h.end && b.maxTime > h.start && samplesIn(s, b.minTime, b.maxTime - 1)) return true;
    return false;
  });
}

function bitsOf(v: Float64Array, i: number): string {
  const u = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
  return `0x${u[2 * i + 1].toString(16).padStart(8, '0')}${u[2 * i].toString(16).padStart(8, '0')}`;
}

/** The first difference between two select answers, in words; undefined when bit-identical. */
export function firstDifference(got: readonly Series[], want: readonly Series[]): string | undefined {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = got[i];
    const w = want[i];
    if (!g) return `missing series #${i} ${w.labels.toString()} (got ${got.length} series, want ${want.length})`;
    if (!w) return `extra series #${i} ${g.labels.toString()} (got ${got.length} series, want ${want.length})`;
    if (!g.labels.equals(w.labels))
      return `series #${i} is ${g.labels.toString()}, want ${w.labels.toString()} (got ${got.map((s) => s.labels.toString()).join(' ')})`;
    const n = Math.max(g.timestamps.length, w.timestamps.length);
    for (let k = 0; k < n; k++) {
      if (g.timestamps[k] !== w.timestamps[k])
        return `${w.labels.toString()} sample #${k}: timestamp ${g.timestamps[k]}, want ${w.timestamps[k]} (got ${g.timestamps.length} samples, want ${w.timestamps.length})`;
      if (bitsOf(g.values, k) !== bitsOf(w.values, k))
        return `${w.labels.toString()} sample #${k} at ${w.timestamps[k]}: value bits ${bitsOf(g.values, k)}, want ${bitsOf(w.values, k)}`;
    }
    if (g.values.length !== g.timestamps.length)
      return `${w.labels.toString()}: ${g.timestamps.length} timestamps but ${g.values.length} values`;
  }
  return undefined;
}

/** Checks lower ⊆ got ⊆ upper for sorted unique strings; the problem in words, or undefined. */
function between(got: readonly string[], lower: readonly string[], upper: readonly string[]): string | undefined {
  for (let i = 1; i < got.length; i++)
    if (!(got[i - 1] < got[i])) return `not sorted and unique at ${JSON.stringify(got[i - 1])}, ${JSON.stringify(got[i])}`;
  const g = new Set(got);
  const u = new Set(upper);
  const missing = lower.filter((x) => !g.has(x));
  const extra = got.filter((x) => !u.has(x));
  if (missing.length || extra.length)
    return `missing ${JSON.stringify(missing)}, not allowed ${JSON.stringify(extra)} (got ${JSON.stringify(got)})`;
  return undefined;
}

const sortedUnique = (xs: Iterable<string>) => [...new Set(xs)].sort();
const namesOf = (ss: readonly Series[]) => sortedUnique(ss.flatMap((s) => Object.keys(s.labels.toObject())));
const valuesOf = (ss: readonly Series[], name: string) => sortedUnique(ss.map((s) => s.labels.get(name)).filter((v) => v !== ''));

/** Label names asked for with labelValues: common, partial (env), the metric name, quoted values, missing. */
const VALUE_NAMES = ['__name__', 'instance', 'env', 'path', 'missing'];
/** Matcher sets for the label APIs: none (every series) and a few from the table. */
const LABEL_MATCHERS: [string, Matcher[]][] = [
  ['no matchers', []],
  ...MATCHER_SETS.filter(([n]) => /env|missing="x"|gappy|up",job|__name__=~"http|instance=~"a\.\*"/.test(n)),
];

const escapeRegex = (v: string) => v.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

/**
 * Random matcher sets over the dataset's names and values (and a missing name), each with at
 * least one matcher not matching "" as PromQL requires of a selector, with random time ranges.
 */
export function randomCases(seed: number, n: number): { matchers: Matcher[]; hints: SelectHints }[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const names = [...namesOf(DATASET.series), 'missing'];
  const out: { matchers: Matcher[]; hints: SelectHints }[] = [];
  while (out.length < n) {
    const ms: Matcher[] = [];
    for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
      const name = pick(names);
      const values = [...valuesOf(DATASET.series, name), '', 'nope'];
      const type = pick(['=', '!=', '=~', '!~'] as const);
      if (type === '=' || type === '!=') ms.push(m(type, name, pick(values)));
      else {
        const alts = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => escapeRegex(pick(values)));
        let re = alts.join('|');
        if (rnd() < 0.3) re = `(${re}).*`;
        if (rnd() < 0.2) re = `(?i)${re.toUpperCase()}`;
        ms.push(m(type, name, re));
      }
    }
    if (ms.every((x) => x.matchesEmpty())) continue;
    const start = T0 - 30 * MINUTE + Math.floor(rnd() * (T_END - T0 + HOUR));
    out.push({ matchers: ms, hints: { start, end: start + Math.floor(rnd() * 2 * HOUR) } });
  }
  return out;
}

/** The selections the query-shard cases cut: one metric, every series, a regex matching "" and an empty-value matcher. */
const SHARDED_SETS = [
  '{__name__="http_requests_total"}',
  '{__name__=~".+"} (every series)',
  '{env=~".*"} (matches every series)',
  '{__name__="cpu_seconds",env=""}',
];

export function querierContract(name: string, make: (ds: Dataset) => Promise<QuerierUnderTest>, opts: ContractOptions = {}): void {
  describe(`${name}: querier contract`, () => {
    let q: Querier;
    let tol: LabelTimeTolerance | undefined;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ querier: q, cleanup, labelTimeTolerance: tol } = await make(DATASET));
    }, 120_000);
    afterAll(async () => {
      await cleanup?.();
    });

    /** A case, or its skip when the implementation lacks what it checks or has a known bug there. */
    const check = (caseName: string, fn: () => Promise<void>) => {
      const lack = opts.lacks?.find((l) => l.cases.test(caseName));
      const bug = opts.knownBugs?.find((b) => (b.cases instanceof RegExp ? b.cases.test(caseName) : b.cases.includes(caseName)));
      if (lack) test.skip(`${caseName} — skipped, lacks this: ${lack.reason}`, fn);
      else if (bug) test.skip(`KNOWN BUG: ${bug.bug} — ${caseName}`, fn);
      else test(caseName, fn);
    };

    test('the dataset is what the cases assume', () => {
      expect(DATASET.series.length).toBeGreaterThanOrEqual(30);
      expect(DATASET.maxTime - DATASET.minTime).toBeGreaterThan(3 * BLOCK_MS);
      // Every matcher set selects something over all time but three that must select nothing.
      const empty = MATCHER_SETS.filter(([, ms]) => referenceSelect(DATASET, ms, { start: -Infinity, end: Infinity }).length === 0).map(
        ([n]) => n,
      );
      expect(empty).toEqual(['{missing="x"}', '{__name__="up",missing!~".*"} (nothing)']);
      // The special values are really there, bit for bit.
      const bits = new Set(DATASET.series.flatMap((sr) => Array.from(sr.values, (_, i) => bitsOf(sr.values, i))));
      for (const b of [
        '0x7ff0000000000002',
        '0x7ff8000000000001',
        '0x7ff8000000000000',
        '0x7ff0000000000000',
        '0xfff0000000000000',
        '0x8000000000000000',
      ])
        expect(bits).toContain(b);
    });

    for (const [mName, ms] of MATCHER_SETS) {
      for (const [rName, h] of TIME_RANGES) {
        check(`select ${mName} over ${rName}`, async () => {
          expect(firstDifference(await q.select(ms, { ...h }), referenceSelect(DATASET, ms, h))).toBeUndefined();
        });
      }
    }

    const decode = opts.decodeRaw;
    if (decode) {
      /** selectRaw's series decoded as a query worker decodes them; series with no sample in range dropped. */
      const selectRawDecoded = async (ms: readonly Matcher[], h: SelectHints): Promise<Series[]> => {
        const out: Series[] = [];
        for (const r of await q.selectRaw!(ms, { ...h })) {
          const s = decode(r, h.start, h.end);
          if (s) out.push(s);
        }
        // In the store's order unless a limit asks for the first series by labels.
        return h.limit ? out : out.sort((a, b) => Labels.compare(a.labels, b.labels));
      };
      /**
       * The same, packed as a select for a worker is (selectRawIntoOf: the store's own
       * selectRawInto when it has one), unpacked (equal label sets of several sources merged) and
       * decoded.
       */
      const packedDecoded = async (ms: readonly Matcher[], h: SelectHints): Promise<Series[]> => {
        const into = new RawPacker();
        await selectRawIntoOf(q, ms, { ...h }, into);
        const out: Series[] = [];
        for (const r of unpackRaw(into.finish())) {
          const s = decode(r, h.start, h.end);
          if (s) out.push(s);
        }
        return h.limit ? out : out.sort((a, b) => Labels.compare(a.labels, b.labels));
      };
      for (const [mName, ms] of MATCHER_SETS) {
        check(`selectRawInto packed and decoded ${mName}, every time range`, async () => {
          for (const [rName, h] of TIME_RANGES) {
            const diff = firstDifference(await packedDecoded(ms, h), referenceSelect(DATASET, ms, h));
            expect(diff && `${rName}: ${diff}`).toBeUndefined();
          }
        });
      }
      check('selectRawInto packed and decoded: random matcher sets × time ranges (seeded), and with limits', async () => {
        for (const { matchers: ms, hints: h } of randomCases(17, 150)) {
          const diff = firstDifference(await packedDecoded(ms, h), referenceSelect(DATASET, ms, h));
          expect(diff && `{${ms.join(',')}} over [${h.start - T0}, ${h.end - T0}]: ${diff}`).toBeUndefined();
        }
        const wide = [m('=~', '__name__', '.+')];
        for (const limit of [1, 3, DATASET.series.length + 5]) {
          const h = { start: -Infinity, end: Infinity, limit };
          const diff = firstDifference(await packedDecoded(wide, h), referenceSelect(DATASET, wide, h));
          expect(diff && `limit ${limit}: ${diff}`).toBeUndefined();
        }
      });
      for (const [mName, ms] of MATCHER_SETS) {
        check(`selectRaw decoded ${mName}, every time range`, async () => {
          expect(q.selectRaw).toBeDefined();
          for (const [rName, h] of TIME_RANGES) {
            const diff = firstDifference(await selectRawDecoded(ms, h), referenceSelect(DATASET, ms, h));
            expect(diff && `${rName}: ${diff}`).toBeUndefined();
          }
        });
      }
      check('selectRaw decoded with hints.limit: the first series by labels', async () => {
        const wide = [m('=~', '__name__', '.+')];
        for (const limit of [1, 3, DATASET.series.length + 5]) {
          const h = { start: -Infinity, end: Infinity, limit };
          const diff = firstDifference(await selectRawDecoded(wide, h), referenceSelect(DATASET, wide, h));
          expect(diff && `limit ${limit}: ${diff}`).toBeUndefined();
        }
      });
      check('selectRaw decoded: random matcher sets × time ranges (seeded) agree with the reference', async () => {
        for (const { matchers: ms, hints: h } of randomCases(13, 150)) {
          const diff = firstDifference(await selectRawDecoded(ms, h), referenceSelect(DATASET, ms, h));
          expect(diff && `{${ms.join(',')}} over [${h.start - T0}, ${h.end - T0}]: ${diff}`).toBeUndefined();
        }
      });
    }

    for (const [mName, ms] of MATCHER_SETS) {
      for (const [rName, h] of TIME_RANGES) {
        check(`series ${mName} over ${rName}`, async () => {
          const got = await q.series(ms, { ...h });
          // Order is its own case (below): here only which label sets, each once.
          const keys = (ls: readonly Labels[]) => ls.map((l) => l.toString()).sort();
          const lower = referenceSelect(DATASET, ms, h).map((s) => s.labels);
          const upper = allowedSeries(DATASET, ms, h, tol).map((s) => s.labels);
          expect(between(keys(got), keys(lower), keys(upper))).toBeUndefined();
        });
      }
    }

    for (const [mName, ms] of MATCHER_SETS) {
      check(`series order ${mName}: sorted by labels, each once`, async () => {
        const got = await q.series(ms, { start: -Infinity, end: Infinity });
        const want = referenceSelect(DATASET, ms, { start: -Infinity, end: Infinity }).map((s) => s.labels.toString());
        expect(got.map((l) => l.toString())).toEqual(want);
      });
    }

    for (const [mName, ms] of LABEL_MATCHERS) {
      for (const [rName, h] of TIME_RANGES) {
        check(`labelNames ${mName} over ${rName}`, async () => {
          const got = await q.labelNames(ms, { ...h });
          expect(between(got, namesOf(referenceSelect(DATASET, ms, h)), namesOf(allowedSeries(DATASET, ms, h, tol)))).toBeUndefined();
        });
        check(`labelValues ${mName} over ${rName}`, async () => {
          for (const label of VALUE_NAMES) {
            const got = await q.labelValues(label, ms, { ...h });
            const problem = between(
              got,
              valuesOf(referenceSelect(DATASET, ms, h), label),
              valuesOf(allowedSeries(DATASET, ms, h, tol), label),
            );
            expect(problem && `${label}: ${problem}`).toBeUndefined();
          }
        });
      }
    }

    check('random matcher sets × time ranges (seeded): select and series agree with the reference', async () => {
      let nonEmpty = 0;
      for (const { matchers: ms, hints: h } of randomCases(11, 150)) {
        const what = `{${ms.join(',')}} over [${h.start - T0}, ${h.end - T0}] ms after T0`;
        const want = referenceSelect(DATASET, ms, h);
        if (want.length > 0) nonEmpty++;
        const diff = firstDifference(await q.select(ms, { ...h }), want);
        expect(diff && `select ${what}: ${diff}`).toBeUndefined();
        const keys = (ls: readonly Labels[]) => ls.map((l) => l.toString()).sort();
        const problem = between(
          keys(await q.series(ms, { ...h })),
          keys(want.map((s) => s.labels)),
          keys(allowedSeries(DATASET, ms, h, tol).map((s) => s.labels)),
        );
        expect(problem && `series ${what}: ${problem}`).toBeUndefined();
      }
      // Not a vacuous draw: a fair share of the sets select data.
      expect(nonEmpty).toBeGreaterThan(30);
    });

    // Query sharding's pseudo-matcher: the n shards of a selection partition it by label hash.
    for (const [mName, ms] of MATCHER_SETS.filter(([n]) => SHARDED_SETS.includes(n))) {
      check(`query shards of ${mName}: select${decode ? ', selectRaw' : ''} and series keep the series of their shard`, async () => {
        for (const n of [1, 2, 3, 7]) {
          for (const [rName, h] of TIME_RANGES.slice(0, 3)) {
            let union = 0;
            for (let i = 0; i < n; i++) {
              const sharded = [...ms, queryShardMatcher(i, n)];
              const want = referenceSelect(DATASET, ms, h).filter((x) => inQueryShards(x.labels, [{ index: i, of: n }]));
              union += want.length;
              const what = `shard ${i + 1} of ${n} over ${rName}`;
              expect(firstDifference(await q.select(sharded, { ...h }), want) && what).toBeUndefined();
              if (decode) {
                const raw: Series[] = [];
                for (const r of await q.selectRaw!(sharded, { ...h })) {
                  const x = decode(r, h.start, h.end);
                  if (x) raw.push(x);
                }
                raw.sort((a, b) => Labels.compare(a.labels, b.labels));
                expect(firstDifference(raw, want) && `selectRaw ${what}`).toBeUndefined();
              }
              const keys = (ls: readonly Labels[]) => ls.map((l) => l.toString()).sort();
              const upper = allowedSeries(DATASET, ms, h, tol).filter((x) => inQueryShards(x.labels, [{ index: i, of: n }]));
              expect(
                between(keys(await q.series(sharded, { ...h })), keys(want.map((x) => x.labels)), keys(upper.map((x) => x.labels))),
              ).toBeUndefined();
            }
            expect(union).toBe(referenceSelect(DATASET, ms, h).length);
          }
        }
      });
    }

    const wide = [m('=~', '__name__', '.+')];
    const total = DATASET.series.length;
    for (const limit of [1, 3, total - 1, total, total + 5]) {
      check(`limit: select with hints.limit ${limit} returns the first ${Math.min(limit, total)} series`, async () => {
        const h = { start: -Infinity, end: Infinity, limit };
        expect(firstDifference(await q.select(wide, h), referenceSelect(DATASET, wide, h))).toBeUndefined();
      });
      check(`limit: series with hints.limit ${limit} returns the first ${Math.min(limit, total)} label sets`, async () => {
        const got = await q.series(wide, { start: -Infinity, end: Infinity, limit });
        expect(got.map((l) => l.toString())).toEqual(DATASET.series.slice(0, limit).map((s) => s.labels.toString()));
      });
    }
    check('limit: a limit on a narrow selection counts only matching series', async () => {
      const ms = [m('=', '__name__', 'up')];
      const h = { start: T0 + HOUR, end: T0 + 2 * HOUR, limit: 2 };
      expect(firstDifference(await q.select(ms, h), referenceSelect(DATASET, ms, h))).toBeUndefined();
    });
  });
}
