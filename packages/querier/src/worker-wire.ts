/**
 * What crosses between the main thread and a query worker, and how (see worker-pool.ts for the
 * design). Bulk data travels in a few flat typed arrays whose buffers are transferred, not
 * copied: per message one array of label strings, and typed arrays for counts, chunk bytes and
 * samples, so neither side builds an object per sample and the receiver's garbage stays its own.
 */
import {
  Labels,
  Matcher,
  pace,
  StrataError,
  type ErrorId,
  type MatchType,
  type RawPart,
  type RawSeries,
  type SelectHints,
} from '@strata/model';
import type { InstantSample, QueryResult, RangeSeries } from '@strata/promql';

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
}

export type StorageOp = 'select' | 'series' | 'labelNames' | 'labelValues';

/** Worker to main thread. */
export type FromWorker =
  | { t: 'call'; call: number; query: number; op: StorageOp; matchers: string[]; hints: WireHints; name?: string }
  | { t: 'abort-call'; call: number }
  | { t: 'hello'; tid: number | undefined; nice: number | undefined }
  | { t: 'done'; id: number; result: PackedResult; warnings: string[]; infos: string[] }
  | { t: 'failed'; id: number; error: WireError };

/** The hints that mean something across threads (signal, budget and warn stay on the main thread). */
export type WireHints = Pick<SelectHints, 'start' | 'end' | 'step' | 'func' | 'range' | 'limit'>;

export type StorageValue = PackedRaw | { labels: PackedLabels } | string[];

export function hintsToWire(h: SelectHints): WireHints {
  return { start: h.start, end: h.end, step: h.step, func: h.func, range: h.range, limit: h.limit };
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

/**
 * Label sets as one string: every name and value concatenated, with each one's length in `lens`
 * and each set's number of pairs in `counts`. One string crosses threads as one copy; an array of
 * hundreds of thousands of strings is serialized one by one, on the sender's thread.
 */
export interface PackedLabels {
  text: string;
  lens: Uint32Array;
  counts: Uint32Array;
}

/** Label sets handled between two looks at the clock (pace). */
const PACE_EVERY = 256;

export async function packLabels(ls: readonly Labels[]): Promise<PackedLabels> {
  let total = 0;
  for (const l of ls) total += l.pairs.length;
  const strings: string[] = new Array(total);
  const lens = new Uint32Array(total);
  const counts = new Uint32Array(ls.length);
  let o = 0;
  for (let i = 0; i < ls.length; i++) {
    if ((i & (PACE_EVERY - 1)) === 0) {
      const y = pace();
      if (y) await y;
    }
    const p = ls[i].pairs;
    counts[i] = p.length >> 1;
    for (let k = 0; k < p.length; k++) {
      strings[o] = p[k];
      lens[o++] = p[k].length;
    }
  }
  return { text: strings.join(''), lens, counts };
}

export function labelsTransfer(p: PackedLabels): ArrayBuffer[] {
  return [p.lens.buffer, p.counts.buffer] as ArrayBuffer[];
}

export function unpackLabels(p: PackedLabels): Labels[] {
  const out: Labels[] = new Array(p.counts.length);
  let si = 0;
  let at = 0;
  for (let i = 0; i < p.counts.length; i++) {
    const n = 2 * p.counts[i];
    const pairs: string[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const len = p.lens[si++];
      pairs[k] = p.text.substring(at, at + len);
      at += len;
    }
    out[i] = Labels.fromSortedPairs(pairs);
  }
  return out;
}

// ---- raw series (select replies) -------------------------------------------------------------

const PART_CHUNKS = 0;
const PART_SAMPLES = 1;

/**
 * Raw series packed: `layout` holds per series its number of parts, then per part its kind and
 * count (chunks or samples) followed, for chunks, by each chunk's byte length. Chunk bytes follow
 * each other in `bytes`; a samples part's timestamps then values follow each other in `floats`
 * (values copied as bits, so NaN payloads and staleness markers survive).
 */
export interface PackedRaw {
  labels: PackedLabels;
  layout: Uint32Array;
  bytes: Uint8Array;
  floats: Float64Array;
}

export async function packRaw(series: readonly RawSeries[]): Promise<PackedRaw> {
  let layoutLen = 0;
  let byteLen = 0;
  let floatLen = 0;
  for (const s of series) {
    layoutLen++;
    for (const p of s.parts) {
      layoutLen += 2;
      if ('chunks' in p) {
        layoutLen += p.chunks.length;
        for (const c of p.chunks) byteLen += c.length;
      } else floatLen += 2 * p.timestamps.length;
    }
  }
  const layout = new Uint32Array(layoutLen);
  const bytes = new Uint8Array(byteLen);
  const floats = new Float64Array(floatLen);
  let li = 0;
  let bi = 0;
  let fi = 0;
  for (let i = 0; i < series.length; i++) {
    // Copying chunk bytes of many series is a long stretch: give way to waiting requests.
    if ((i & (PACE_EVERY - 1)) === 0) {
      const y = pace();
      if (y) await y;
    }
    const s = series[i];
    layout[li++] = s.parts.length;
    for (const p of s.parts) {
      if ('chunks' in p) {
        layout[li++] = PART_CHUNKS;
        layout[li++] = p.chunks.length;
        for (const c of p.chunks) {
          layout[li++] = c.length;
          bytes.set(c, bi);
          bi += c.length;
        }
      } else {
        const n = p.timestamps.length;
        layout[li++] = PART_SAMPLES;
        layout[li++] = n;
        floats.set(p.timestamps, fi);
        // set() between Float64Arrays copies bytes: NaN payloads survive.
        floats.set(p.values, fi + n);
        fi += 2 * n;
      }
    }
  }
  return { labels: await packLabels(series.map((s) => s.labels)), layout, bytes, floats };
}

export function unpackRaw(p: PackedRaw): RawSeries[] {
  const labels = unpackLabels(p.labels);
  const out: RawSeries[] = new Array(labels.length);
  let li = 0;
  let bi = 0;
  let fi = 0;
  for (let i = 0; i < labels.length; i++) {
    const nParts = p.layout[li++];
    const parts: RawPart[] = [];
    for (let k = 0; k < nParts; k++) {
      const kind = p.layout[li++];
      const n = p.layout[li++];
      if (kind === PART_CHUNKS) {
        const chunks: Uint8Array[] = new Array(n);
        for (let c = 0; c < n; c++) {
          const len = p.layout[li++];
          chunks[c] = p.bytes.subarray(bi, bi + len);
          bi += len;
        }
        parts.push({ chunks });
      } else {
        parts.push({ timestamps: p.floats.subarray(fi, fi + n), values: p.floats.subarray(fi + n, fi + 2 * n) });
        fi += 2 * n;
      }
    }
    out[i] = { labels: labels[i], parts };
  }
  return out;
}

export function rawTransfer(p: PackedRaw): ArrayBuffer[] {
  return [...labelsTransfer(p.labels), p.layout.buffer, p.bytes.buffer, p.floats.buffer] as ArrayBuffer[];
}

// ---- query results (worker replies) -----------------------------------------------------------

/**
 * A query result packed: a vector's timestamps then values in `floats`; a matrix's series lengths
 * in `lens` and all timestamps then all values in `floats`.
 */
export type PackedResult =
  | { resultType: 'scalar'; t: number; v: number }
  | { resultType: 'string'; t: number; value: string }
  | { resultType: 'vector'; labels: PackedLabels; floats: Float64Array }
  | { resultType: 'matrix'; labels: PackedLabels; lens: Uint32Array; floats: Float64Array };

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
      return { packed: { resultType: 'vector', labels, floats }, transfer: [...labelsTransfer(labels), floats.buffer as ArrayBuffer] };
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
      return {
        packed: { resultType: 'matrix', labels, lens, floats },
        transfer: [...labelsTransfer(labels), lens.buffer, floats.buffer] as ArrayBuffer[],
      };
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
      for (let i = 0; i < n; i++) vector[i] = { labels: labels[i], t: p.floats[i], v: p.floats[n + i] };
      return { resultType: 'vector', vector };
    }
    case 'matrix': {
      const labels = unpackLabels(p.labels);
      const total = p.floats.length / 2;
      const matrix: RangeSeries[] = new Array(labels.length);
      let o = 0;
      for (let i = 0; i < labels.length; i++) {
        const n = p.lens[i];
        matrix[i] = { labels: labels[i], timestamps: p.floats.subarray(o, o + n), values: p.floats.subarray(total + o, total + o + n) };
        o += n;
      }
      return { resultType: 'matrix', matrix };
    }
  }
}
