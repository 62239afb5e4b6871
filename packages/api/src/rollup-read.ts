/**
 * Rollups over remote-read: Strata's extension of the protocol between a querier and its stores
 * (docs/format/rollup-read.md). Plain remote-read carries one value per sample, which is all a
 * raw block has; a series read from rollups also needs, per window, the count of raw samples it
 * stands for and, for quantile_over_time, the window's sketch (RollupSamples). So a querier that
 * allows rollups says so in a request header, and the store, which then plans resolutions and
 * picks the aggregates itself (as it does in-process), sends that side data as extra chunks of
 * Strata's own encodings after the series' XOR chunks. A client that does not send the header
 * (Prometheus, Thanos, an older querier) gets exactly what it got before; a store that does not
 * know the header answers raw data, which is correct, only slower.
 */
import { StrataError, type Labels, type RollupSamples, type Series } from '@strata/model';
import { CHUNK_TYPE_XOR, PbReader, PbWriter, WIRE_LEN, type ChunkToSend } from '@strata/remote';
import {
  aggregatesFor,
  AGGR_MODES,
  decodeXORBits,
  fromChunks,
  joinParts,
  sketchQuantile,
  XOREncoder,
  XORIterator,
  type AggrMode,
  type Part,
  type SourcePart,
} from '@strata/tsdb';

/** Request header: the largest rollup window (ms, a decimal integer) the store may answer from. */
export const MAX_SOURCE_RESOLUTION_HEADER = 'x-strata-max-source-resolution';

/**
 * Request header (value `1`), sent with MAX_SOURCE_RESOLUTION_HEADER: the querier also reads
 * series as rollup parts (below), so the store may send float rollups' aggregate chunks on as it
 * fetched them instead of decoding, joining and re-encoding them.
 */
export const ROLLUP_PARTS_HEADER = 'x-strata-rollup-parts';

/** Chunk encodings of the side data (Prometheus' own stop at 3, FLOAT_HISTOGRAM). */
export const CHUNK_TYPE_ROLLUP_COUNTS = 1001;
export const CHUNK_TYPE_ROLLUP_SKETCHES = 1002;
/** Rollup parts: a part's start (its range and kind), and an aggregate chunk of a rollup part. */
export const CHUNK_TYPE_ROLLUP_PART = 1003;
export const CHUNK_TYPE_ROLLUP_AGGR = 1004;

const PART_CLIPPED = 1;
const PART_RAW = 2;

/** Samples per chunk, as the value chunks (remote-read.ts toChunks). */
export const SAMPLES_PER_CHUNK = 120;

/** The header's value as SelectHints.maxResolution: 0 (raw only) when absent or not a count of ms. */
export function maxResolutionOf(header: string | string[] | undefined): number {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || !/^\d{1,15}$/.test(v)) return 0;
  return Number(v);
}

/** Samples as XOR chunks of at most 120 samples, values copied as raw bits (NaN payloads survive). */
export function xorChunks(timestamps: Float64Array, values: Float64Array, type = CHUNK_TYPE_XOR): ChunkToSend[] {
  const out: ChunkToSend[] = [];
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  for (let i = 0; i < timestamps.length; i += SAMPLES_PER_CHUNK) {
    const end = Math.min(timestamps.length, i + SAMPLES_PER_CHUNK);
    const enc = new XOREncoder();
    for (let k = i; k < end; k++) enc.appendBits(timestamps[k], bits[2 * k + 1], bits[2 * k]);
    out.push({ minT: timestamps[i], maxT: timestamps[end - 1], data: enc.bytes(), type });
  }
  return out;
}

const NO_SKETCH = new Uint8Array(0);

/**
 * The side chunks of a series read from rollups (none for raw series): its counts as XOR chunks at
 * the samples' timestamps, and, when the series answers quantiles, its sketches, 120 per chunk.
 */
export function rollupChunks(s: Series): ChunkToSend[] {
  const r = s.rollup;
  if (!r) return [];
  const out = xorChunks(s.timestamps, r.counts, CHUNK_TYPE_ROLLUP_COUNTS);
  // Sketches matter only where the store gave the series its quantile function.
  if (!r.quantile) return out;
  for (let i = 0; i < s.timestamps.length; i += SAMPLES_PER_CHUNK) {
    const end = Math.min(s.timestamps.length, i + SAMPLES_PER_CHUNK);
    const w = new PbWriter(64 * (end - i));
    // message RollupSketches { repeated bytes sketch = 1; }: one per sample, empty for none.
    for (let k = i; k < end; k++) w.bytes(1, r.sketches?.[k] ?? NO_SKETCH);
    out.push({ minT: s.timestamps[i], maxT: s.timestamps[end - 1], data: w.finish(), type: CHUNK_TYPE_ROLLUP_SKETCHES });
  }
  return out;
}

function malformed(what: string): StrataError {
  return new StrataError('store-unavailable', `malformed remote-read answer: ${what}`);
}

const isSide = (type: number | undefined): boolean => type === CHUNK_TYPE_ROLLUP_COUNTS || type === CHUNK_TYPE_ROLLUP_SKETCHES;

/**
 * One series of a streamed remote-read answer: its value chunks decoded as XOR (whatever their
 * stated encoding, as before) into samples in [start, end], with the rollup side data (if the
 * store sent any) kept for the same samples.
 */
export function decodeSeriesChunks(
  chunks: readonly { type?: number; data: Uint8Array }[],
  start: number,
  end: number,
): Pick<Series, 'timestamps' | 'values' | 'rollup'> {
  let n = 0;
  let side = false;
  for (const c of chunks) {
    if (isSide(c.type)) side = true;
    else n += (c.data[0] << 8) | c.data[1];
  }
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  const vb = new Uint32Array(vs.buffer);
  // Which of the sent samples fall in the range: the side data is kept for the same ones.
  const kept = side ? new Uint8Array(n) : undefined;
  let k = 0;
  let i = 0;
  // The raw path's bulk decoder (a rollup answer is hundreds of thousands of samples).
  for (const c of chunks) {
    if (isSide(c.type)) continue;
    if (!kept) {
      k = decodeXORBits(c.data, ts, vb, k, start, end);
      continue;
    }
    // With side data every sent sample counts, so the chunk is decoded whole and then clipped in place.
    const got = decodeXORBits(c.data, ts, vb, k, -Infinity, Infinity);
    for (let j = k; j < got; j++) {
      const at = i++;
      const t = ts[j];
      if (t < start || t > end) continue;
      kept[at] = 1;
      ts[k] = t;
      vb[2 * k] = vb[2 * j];
      vb[2 * k + 1] = vb[2 * j + 1];
      k++;
    }
  }
  const timestamps = ts.subarray(0, k);
  const values = vs.subarray(0, k);
  if (!kept) return { timestamps, values };
  return { timestamps, values, rollup: sideData(chunks, kept, i, k) };
}

/** The counts and sketches of the `sent` samples, kept where `kept` says (`k` of them). */
function sideData(chunks: readonly { type?: number; data: Uint8Array }[], kept: Uint8Array, sent: number, k: number): RollupSamples {
  const counts = new Float64Array(k);
  const cb = new Uint32Array(counts.buffer);
  let sketches: (Uint8Array | undefined)[] | undefined;
  let ci = 0;
  let ck = 0;
  let si = 0;
  let sk = 0;
  for (const c of chunks) {
    if (c.type === CHUNK_TYPE_ROLLUP_COUNTS) {
      const it = new XORIterator(c.data);
      while (it.next()) {
        if (ci >= sent) throw malformed('more rollup counts than samples');
        if (kept[ci++]) {
          cb[2 * ck] = it.lo;
          cb[2 * ck + 1] = it.hi;
          ck++;
        }
      }
    } else if (c.type === CHUNK_TYPE_ROLLUP_SKETCHES) {
      sketches ??= new Array<Uint8Array | undefined>(k);
      const r = new PbReader(Buffer.from(c.data.buffer, c.data.byteOffset, c.data.length));
      while (r.nextField()) {
        if (r.field !== 1 || r.wire !== WIRE_LEN) continue;
        if (si >= sent) throw malformed('more rollup sketches than samples');
        const b = r.bytes();
        // A copy: the sketch outlives the response buffer it is a view of.
        if (kept[si++]) sketches[sk++] = b.length ? Uint8Array.from(b) : undefined;
      }
    }
  }
  if (ci !== sent) throw malformed(`${ci} rollup counts for ${sent} samples`);
  if (sketches && si !== sent) throw malformed(`${si} rollup sketches for ${sent} samples`);
  return sketches ? { counts, sketches, quantile: sketchQuantile } : { counts };
}

/**
 * A series' parts as chunks (docs/format/rollup-read.md, "Rollup parts"): per part a start chunk,
 * then a rollup part's aggregate chunks as they are, or a raw part's samples as XOR chunks.
 * Undefined when a part has no wire form (native histograms, a decoded rollup): the store then
 * sends the joined series as before.
 */
export function rollupPartChunks(parts: readonly SourcePart[], mode: AggrMode): ChunkToSend[] | undefined {
  const m = AGGR_MODES.indexOf(mode);
  const out: ChunkToSend[] = [];
  for (const p of parts) {
    if (p.kind === 'rollup-chunks') {
      out.push({ minT: p.from, maxT: p.to, data: Uint8Array.of(p.clipped ? PART_CLIPPED : 0, m), type: CHUNK_TYPE_ROLLUP_PART });
      for (const data of p.chunks) out.push({ minT: p.from, maxT: p.to, data, type: CHUNK_TYPE_ROLLUP_AGGR });
    } else if (p.kind === 'raw' && !p.h) {
      if (p.t.length === 0) continue;
      out.push({ minT: p.t[0], maxT: p.t[p.t.length - 1], data: Uint8Array.of(PART_RAW, m), type: CHUNK_TYPE_ROLLUP_PART });
      out.push(...xorChunks(p.t, p.v));
    } else return undefined;
  }
  return out;
}

/**
 * One series sent as rollup parts, joined as the store would have joined it in-process (the same
 * code over the same bytes, so the same series to the bit); undefined when no part has a sample.
 */
export function decodeRollupParts(
  labels: Labels,
  chunks: readonly { type?: number; minT: number; maxT: number; data: Uint8Array }[],
): Series | undefined {
  const parts: Part[] = [];
  let mode: AggrMode | undefined;
  let i = 0;
  while (i < chunks.length) {
    const head = chunks[i++];
    if (head.type !== CHUNK_TYPE_ROLLUP_PART || head.data.length !== 2) throw malformed('a rollup part does not start with its part chunk');
    const m = AGGR_MODES[head.data[1]];
    if (m === undefined || (mode !== undefined && m !== mode)) throw malformed(`rollup part mode ${head.data[1]}`);
    mode = m;
    let j = i;
    while (j < chunks.length && chunks[j].type !== CHUNK_TYPE_ROLLUP_PART) j++;
    const body = chunks.slice(i, j);
    i = j;
    if (head.data[0] & PART_RAW) {
      if (body.some((c) => (c.type ?? CHUNK_TYPE_XOR) !== CHUNK_TYPE_XOR))
        throw malformed('a raw rollup part holds a chunk that is not XOR');
      const part = rawPart(body);
      if (part.t.length > 0) parts.push(part);
      continue;
    }
    if (body.some((c) => c.type !== CHUNK_TYPE_ROLLUP_AGGR)) throw malformed('a rollup part holds a chunk that is not an aggregate chunk');
    const r = fromChunks(
      body.map((c) => c.data),
      head.minT,
      head.maxT,
      aggregatesFor(m),
    );
    if (r) parts.push({ kind: 'rollup', r, from: head.minT, clipped: (head.data[0] & PART_CLIPPED) !== 0 });
  }
  return mode === undefined ? undefined : joinParts(labels, parts, mode);
}

/** A raw part's XOR chunks decoded in bulk into one pair of arrays. */
function rawPart(chunks: readonly { data: Uint8Array }[]): Part & { kind: 'raw' } {
  let n = 0;
  for (const c of chunks) n += (c.data[0] << 8) | c.data[1];
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  const vb = new Uint32Array(v.buffer);
  let k = 0;
  for (const c of chunks) k = decodeXORBits(c.data, t, vb, k, -Infinity, Infinity);
  return { kind: 'raw', t: t.subarray(0, k), v: v.subarray(0, k) };
}
