/**
 * What crosses between the main thread and a query worker, and how (see worker-pool.ts for the
 * design). Bulk data travels in a few flat typed arrays whose buffers are transferred, not
 * copied: per message one array of label strings, and typed arrays for counts, chunk bytes and
 * samples, so neither side builds an object per sample and the receiver's garbage stays its own.
 */
import {
  FloatHistogram,
  Labels,
  Matcher,
  pace,
  packHistogramColumn,
  packRawSeries,
  readHistogramColumn,
  RawPacker,
  rawTransfer,
  StrataError,
  unpackLabels,
  unpackRaw,
  writeCodeUnits,
  type BlockReads,
  type ErrorId,
  type MatchType,
  type PackedLabels,
  type PackedRaw,
  type RawSeries,
  type RollupSamples,
  type SelectHints,
  type Series,
} from '@strata/model';
import type { InstantSample, QueryResult, RangeSeries } from '@strata/promql';
import { sketchQuantile } from '@strata/tsdb';

// ---- messages -------------------------------------------------------------------------------

/** Main thread to worker. */
export type ToWorker =
  | ({ t: 'query'; kind: 'instant'; time: number } & QueryCommon)
  | ({ t: 'query'; kind: 'range'; start: number; end: number; step: number } & QueryCommon)
  | { t: 'cancel'; id: number }
  | { t: 'reply'; call: number; ok: true; value: StorageValue }
  | { t: 'reply'; call: number; ok: false; error: WireError };

/**
 * `source` is parsed; `text` is the Engine's QueryOptions.text (positions in annotations), as the
 * caller gave it: the query string when it passed one, else its own text option or nothing.
 */
interface QueryCommon {
  id: number;
  source: string;
  text: string;
  timeoutMs: number;
  /** The query's max_source_resolution (QueryOptions.maxResolution); unset: the engine's default. */
  maxResolution?: number | 'auto';
  /**
   * Set: the worker answers with the API JSON of the result (`done-json`), truncated to this
   * `limit` (0: all), instead of the packed result, so the main thread builds and encodes nothing.
   */
  json?: { limit: number };
}

export type StorageOp = 'select' | 'series' | 'labelNames' | 'labelValues';

/** Worker to main thread. */
export type FromWorker =
  | { t: 'call'; call: number; query: number; op: StorageOp; matchers: string[]; hints: WireHints; name?: string }
  | { t: 'abort-call'; call: number }
  /** What a select read of a listed local block (BlockLease.returned), posted before the query's answer. */
  | { t: 'block-reads'; query: number; dir: string; ulid: string; reads: BlockReads }
  | { t: 'hello'; tid: number | undefined; nice: number | undefined }
  | { t: 'done'; id: number; result: PackedResult; warnings: string[]; infos: string[] }
  | { t: 'done-json'; id: number; json: Uint8Array; warnings: string[]; infos: string[] }
  | { t: 'failed'; id: number; error: WireError };

/** The hints that mean something across threads (signal, budget and warn stay on the main thread). */
export type WireHints = Pick<SelectHints, 'start' | 'end' | 'step' | 'func' | 'range' | 'limit' | 'maxResolution'>;

export type StorageValue = PackedRaw | PackedSeries | { labels: PackedLabels } | string[];

export function hintsToWire(h: SelectHints): WireHints {
  return { start: h.start, end: h.end, step: h.step, func: h.func, range: h.range, limit: h.limit, maxResolution: h.maxResolution };
}

// ---- matchers and errors ------------------------------------------------------------------

/** Matchers as flat [type, name, value, ...]; regexes are compiled again on the receiving side. */
export function matchersToWire(ms: readonly Matcher[]): string[] {
  const out: string[] = [];
  for (const m of ms) out.push(m.type, m.name, m.value);
  return out;
}

export function matchersFromWire(flat: readonly string[]): Matcher[] {
  const out: Matcher[] = [];
  for (let i = 0; i < flat.length; i += 3) out.push(new Matcher(flat[i] as MatchType, flat[i + 1], flat[i + 2]));
  return out;
}

export interface WireError {
  /** Set for StrataErrors: rebuilt with the same ID, status and Retry-After. */
  id?: ErrorId;
  status?: number;
  retryAfter?: number;
  name: string;
  message: string;
}

export function errorToWire(e: unknown): WireError {
  if (e instanceof StrataError) return { id: e.id, status: e.status, retryAfter: e.retryAfter, name: e.name, message: e.message };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

export function errorFromWire(w: WireError): Error {
  if (w.id) return new StrataError(w.id, w.message, { status: w.status, retryAfter: w.retryAfter });
  const e = new Error(w.message);
  e.name = w.name;
  return e;
}

// ---- label sets -----------------------------------------------------------------------------

/** Label sets handled between two looks at the clock (pace). */
const PACE_EVERY = 256;

export async function packLabels(ls: readonly Labels[]): Promise<PackedLabels> {
  let total = 0;
  let chars = 0;
  for (let i = 0; i < ls.length; i++) {
    if ((i & (PACE_EVERY - 1)) === 0) {
      const y = pace();
      if (y) await y;
    }
    const p = ls[i].pairs;
    total += p.length;
    for (let k = 0; k < p.length; k++) chars += p[k].length;
  }
  const units = new Uint16Array(chars);
  const lens = new Uint32Array(total);
  const counts = new Uint32Array(ls.length);
  let o = 0;
  let u = 0;
  for (let i = 0; i < ls.length; i++) {
    if ((i & (PACE_EVERY - 1)) === 0) {
      const y = pace();
      if (y) await y;
    }
    const p = ls[i].pairs;
    counts[i] = p.length >> 1;
    for (let k = 0; k < p.length; k++) {
      writeCodeUnits(p[k], units, u);
      u += p[k].length;
      lens[o++] = p[k].length;
    }
  }
  return { units, lens, counts };
}

export function labelsTransfer(p: PackedLabels): ArrayBuffer[] {
  return [p.units.buffer, p.lens.buffer, p.counts.buffer] as ArrayBuffer[];
}

// ---- raw series (select replies) -------------------------------------------------------------

/**
 * RawSeries objects packed (stores answering selectRaw, a select with a limit): see PackedRaw in
 * @strata/model for the format; most selects are packed by the stores themselves (selectRawInto).
 */
export async function packRaw(series: readonly RawSeries[], signal?: AbortSignal): Promise<PackedRaw> {
  const into = new RawPacker();
  await packRawSeries(series, into, signal);
  return into.finish();
}

export { unpackLabels, unpackRaw, rawTransfer, type PackedLabels, type PackedRaw };

// ---- decoded series with rollup side data (selects that may read rollups) -----------------------

/** PackedSeries.flags per series: it carries rollup side data; its sketches answer quantiles. */
const HAS_ROLLUP = 1;
const HAS_QUANTILE = 2;

/**
 * Series as select() answers them, packed, for a select that may read rollups: the stores join a
 * series' rollup windows and raw samples and pick the aggregate its function reads (rollup-query.ts
 * in @strata/tsdb), which has no undecoded form to send. Rollup series are small (a window per 5m,
 * 1h or 1d), so decoding them on the main thread costs little; the evaluation, with its garbage, still
 * runs in the worker. Per series: its sample count in `lens`, its flags; all timestamps then all
 * values in `floats`, each sample's count in `counts` (1 without side data), each sample's sketch
 * length in `sketchLens` (0: none) and the sketches one after the other in `sketchBytes`. Native
 * histogram samples (rare here: rollups hold none) go by structured clone, per series that has them.
 */
export interface PackedSeries {
  kind: 'series';
  labels: PackedLabels;
  lens: Uint32Array;
  flags: Uint8Array;
  floats: Float64Array;
  counts: Float64Array;
  sketchLens: Uint32Array;
  sketchBytes: Uint8Array;
  histograms: [series: number, samples: readonly (FloatHistogram | undefined)[]][];
}

export async function packSeries(ss: readonly Series[]): Promise<PackedSeries> {
  let total = 0;
  let sketchTotal = 0;
  for (const s of ss) {
    total += s.timestamps.length;
    const sk = s.rollup?.quantile && s.rollup.sketches;
    if (sk) for (let k = 0; k < s.timestamps.length; k++) sketchTotal += sk[k]?.length ?? 0;
  }
  const lens = new Uint32Array(ss.length);
  const flags = new Uint8Array(ss.length);
  const floats = new Float64Array(2 * total);
  const counts = new Float64Array(total).fill(1);
  const sketchLens = new Uint32Array(total);
  const sketchBytes = new Uint8Array(sketchTotal);
  const histograms: PackedSeries['histograms'] = [];
  let o = 0;
  let b = 0;
  for (let i = 0; i < ss.length; i++) {
    if ((i & (PACE_EVERY - 1)) === 0) {
      const y = pace();
      if (y) await y;
    }
    const s = ss[i];
    const n = (lens[i] = s.timestamps.length);
    floats.set(s.timestamps, o);
    floats.set(s.values, total + o);
    const r = s.rollup;
    if (r) {
      flags[i] = HAS_ROLLUP | (r.quantile ? HAS_QUANTILE : 0);
      counts.set(r.counts.subarray(0, n), o);
      if (r.quantile && r.sketches) {
        for (let k = 0; k < n; k++) {
          const x = r.sketches[k];
          if (!x) continue;
          sketchLens[o + k] = x.length;
          sketchBytes.set(x, b);
          b += x.length;
        }
      }
    }
    if (s.histograms) histograms.push([i, s.histograms]);
    o += n;
  }
  return {
    kind: 'series',
    labels: await packLabels(ss.map((s) => s.labels)),
    lens,
    flags,
    floats,
    counts,
    sketchLens,
    sketchBytes,
    histograms,
  };
}

export function seriesTransfer(p: PackedSeries): ArrayBuffer[] {
  return [
    ...labelsTransfer(p.labels),
    p.lens.buffer,
    p.flags.buffer,
    p.floats.buffer,
    p.counts.buffer,
    p.sketchLens.buffer,
    p.sketchBytes.buffer,
  ] as ArrayBuffer[];
}

export function isPackedSeries(v: StorageValue): v is PackedSeries {
  return !Array.isArray(v) && 'kind' in v && v.kind === 'series';
}

/** The series packSeries packed, as select() answered them (views into the transferred arrays). */
export function unpackSeries(p: PackedSeries): Series[] {
  const labels = unpackLabels(p.labels);
  const hs = new Map(p.histograms);
  const total = p.floats.length / 2;
  const out: Series[] = new Array(labels.length);
  let o = 0;
  let b = 0;
  for (let i = 0; i < labels.length; i++) {
    const n = p.lens[i];
    const timestamps = p.floats.subarray(o, o + n);
    const values = p.floats.subarray(total + o, total + o + n);
    let rollup: RollupSamples | undefined;
    if (p.flags[i] & HAS_ROLLUP) {
      const counts = p.counts.subarray(o, o + n);
      if (p.flags[i] & HAS_QUANTILE) {
        const sketches: (Uint8Array | undefined)[] = new Array(n);
        for (let k = 0; k < n; k++) {
          const len = p.sketchLens[o + k];
          if (len === 0) continue;
          sketches[k] = p.sketchBytes.subarray(b, b + len);
          b += len;
        }
        rollup = { counts, sketches, quantile: sketchQuantile };
      } else rollup = { counts };
    }
    // Structured clone keeps a histogram's fields, not its class.
    const h = hs.get(i)?.map((x) => x && new FloatHistogram(x));
    out[i] = { labels: labels[i], timestamps, values, ...(rollup ? { rollup } : {}), ...(h ? { histograms: h } : {}) };
    o += n;
  }
  return out;
}

// ---- query results (worker replies) -----------------------------------------------------------

/**
 * A query result packed: a vector's timestamps then values in `floats`; a matrix's series lengths
 * in `lens` and all timestamps then all values in `floats`. When any sample is a native histogram,
 * `hists` holds one histogram column over all samples in that order (histogram-pack.ts).
 */
export type PackedResult =
  | { resultType: 'scalar'; t: number; v: number }
  | { resultType: 'string'; t: number; value: string }
  | { resultType: 'vector'; labels: PackedLabels; floats: Float64Array; hists?: Float64Array }
  | { resultType: 'matrix'; labels: PackedLabels; lens: Uint32Array; floats: Float64Array; hists?: Float64Array };

export async function packResult(r: QueryResult): Promise<{ packed: PackedResult; transfer: ArrayBuffer[] }> {
  switch (r.resultType) {
    case 'scalar':
    case 'string':
      return { packed: r, transfer: [] };
    case 'vector': {
      const n = r.vector.length;
      const floats = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) {
        floats[i] = r.vector[i].t;
        floats[n + i] = r.vector[i].v;
      }
      const labels = await packLabels(r.vector.map((s) => s.labels));
      const transfer = [...labelsTransfer(labels), floats.buffer as ArrayBuffer];
      // Histogram samples as doubles (histogram-pack.ts); a result of floats only carries none.
      if (!r.vector.some((s) => s.h)) return { packed: { resultType: 'vector', labels, floats }, transfer };
      const hists = packHistogramColumn(r.vector.map((s) => s.h));
      return { packed: { resultType: 'vector', labels, floats, hists }, transfer: [...transfer, hists.buffer as ArrayBuffer] };
    }
    case 'matrix': {
      const lens = new Uint32Array(r.matrix.length);
      let total = 0;
      for (let i = 0; i < r.matrix.length; i++) total += lens[i] = r.matrix[i].timestamps.length;
      const floats = new Float64Array(2 * total);
      let o = 0;
      for (const s of r.matrix) {
        floats.set(s.timestamps, o);
        floats.set(s.values, total + o);
        o += s.timestamps.length;
      }
      const labels = await packLabels(r.matrix.map((s) => s.labels));
      const transfer = [...labelsTransfer(labels), lens.buffer, floats.buffer] as ArrayBuffer[];
      if (!r.matrix.some((s) => s.histograms)) return { packed: { resultType: 'matrix', labels, lens, floats }, transfer };
      const column: (FloatHistogram | undefined)[] = [];
      for (const s of r.matrix) for (let k = 0; k < s.timestamps.length; k++) column.push(s.histograms?.[k]);
      const hists = packHistogramColumn(column);
      return { packed: { resultType: 'matrix', labels, lens, floats, hists }, transfer: [...transfer, hists.buffer as ArrayBuffer] };
    }
  }
}

export function unpackResult(p: PackedResult): QueryResult {
  switch (p.resultType) {
    case 'scalar':
    case 'string':
      return p;
    case 'vector': {
      const labels = unpackLabels(p.labels);
      const n = labels.length;
      const vector: InstantSample[] = new Array(n);
      const hs = p.hists && readHistogramColumn(p.hists, 0, n).hs;
      for (let i = 0; i < n; i++) {
        vector[i] = { labels: labels[i], t: p.floats[i], v: p.floats[n + i] };
        const h = hs?.[i];
        if (h) vector[i].h = h;
      }
      return { resultType: 'vector', vector };
    }
    case 'matrix': {
      const labels = unpackLabels(p.labels);
      const total = p.floats.length / 2;
      const matrix: RangeSeries[] = new Array(labels.length);
      const hs = p.hists && readHistogramColumn(p.hists, 0, total).hs;
      let o = 0;
      for (let i = 0; i < labels.length; i++) {
        const n = p.lens[i];
        matrix[i] = { labels: labels[i], timestamps: p.floats.subarray(o, o + n), values: p.floats.subarray(total + o, total + o + n) };
        // Only series with a histogram sample get the column, as the engine gives them.
        const mine = hs?.slice(o, o + n);
        if (mine?.some((h) => h)) matrix[i].histograms = mine;
        o += n;
      }
      return { resultType: 'matrix', matrix };
    }
  }
}
