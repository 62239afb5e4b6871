/**
 * A decoded series (Series: floats, and native histograms beside them) as chunks of typed
 * encodings, and back: for remote-read's streamed responses, which carry each chunk with its
 * type (1 XOR, 2 histogram, 3 float histogram, Prometheus' numbers, which are the TSDB's).
 *
 * Encoding: each run of float samples becomes XOR chunks, each run of histograms float histogram
 * chunks (what the query path holds), at most `perChunk` samples a chunk. A histogram chunk also
 * ends where the next histogram does not fit its layout (schema, zero threshold, spans, bounds),
 * where gauge and counter meet, and before a sample whose hint is not "not a reset": decoding reads
 * the first sample of a counter chunk as unknown and the others as not a reset (as Prometheus'
 * iterators do), so the hints the head's select gave come back as they were, except "not a reset"
 * on a chunk's first sample (a window that starts inside a run, or a layout change), which reads
 * back as unknown. No chunk header can say otherwise to a Prometheus reader, and unknown only makes
 * the engine compare that sample with the one before it, as Prometheus does at every chunk start.
 */
import { CounterResetHint, type FloatHistogram, type Labels, type Series } from '@strata/model';
import {
  CounterResetHeader,
  ENCODING_FLOAT_HISTOGRAM,
  ENCODING_HISTOGRAM,
  FloatHistogramChunkEncoder,
  type HistogramSample,
} from './chunkenc/histogram.js';
import { ENCODING_XOR, XOREncoder, XORIterator } from './chunkenc/xor.js';
import { histogramChunkSamples, withHistograms } from './head/histogram-series.js';

export interface TypedChunk {
  minT: number;
  maxT: number;
  encoding: number;
  data: Uint8Array;
}

const PER_CHUNK = 120;

function headerOf(hint: CounterResetHint): CounterResetHeader {
  switch (hint) {
    case CounterResetHint.Gauge:
      return CounterResetHeader.Gauge;
    case CounterResetHint.CounterReset:
      return CounterResetHeader.CounterReset;
    case CounterResetHint.NotCounterReset:
      return CounterResetHeader.NotCounterReset;
    default:
      return CounterResetHeader.Unknown;
  }
}

function sampleOf(h: FloatHistogram): HistogramSample {
  return {
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    count: h.count,
    sum: h.sum,
    positiveSpans: h.positiveSpans,
    positiveBuckets: h.positiveBuckets,
    negativeSpans: h.negativeSpans,
    negativeBuckets: h.negativeBuckets,
    customValues: h.customValues ?? [],
  };
}

/** The series' samples as typed chunks in time order (see the header). */
export function encodeSeriesChunks(s: Pick<Series, 'timestamps' | 'values' | 'histograms'>, perChunk = PER_CHUNK): TypedChunk[] {
  const out: TypedChunk[] = [];
  const ts = s.timestamps;
  const n = ts.length;
  const bits = new Uint32Array(s.values.buffer, s.values.byteOffset, n * 2);
  const hs = s.histograms;
  let i = 0;
  while (i < n) {
    const start = i;
    const first = hs?.[i];
    if (!first) {
      const enc = new XOREncoder();
      for (; i < n && !hs?.[i] && i - start < perChunk; i++) enc.appendBits(ts[i], bits[2 * i + 1], bits[2 * i]);
      out.push({ minT: ts[start], maxT: ts[i - 1], encoding: ENCODING_XOR, data: enc.bytes() });
      continue;
    }
    const gauge = first.counterResetHint === CounterResetHint.Gauge;
    const enc = new FloatHistogramChunkEncoder(headerOf(first.counterResetHint));
    for (; i < n && i - start < perChunk; i++) {
      const h = hs![i];
      if (!h) break;
      const x = sampleOf(h);
      if (i > start) {
        const hint = h.counterResetHint;
        if ((hint === CounterResetHint.Gauge) !== gauge || (!gauge && hint !== CounterResetHint.NotCounterReset) || !enc.fits(x)) break;
      }
      enc.append(ts[i], x);
    }
    out.push({ minT: ts[start], maxT: ts[i - 1], encoding: ENCODING_FLOAT_HISTOGRAM, data: enc.bytes().slice() });
  }
  return out;
}

/**
 * The samples in [from, to] of typed chunks (encoding 0, unset, read as XOR), as one series
 * (floats and histograms merged by time; a histogram staleness marker becomes a float one), or
 * undefined when none is in range.
 */
export function decodeSeriesTypedChunks(
  labels: Labels,
  chunks: readonly { encoding: number; data: Uint8Array }[],
  from: number,
  to: number,
): Series | undefined {
  let n = 0;
  let histograms = false;
  for (const c of chunks) {
    if (c.encoding === ENCODING_HISTOGRAM || c.encoding === ENCODING_FLOAT_HISTOGRAM) histograms = true;
    else n += (c.data[0] << 8) | c.data[1];
  }
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  const vb = new Uint32Array(vs.buffer);
  let k = 0;
  const h = { timestamps: [] as number[], histograms: [] as (FloatHistogram | 'stale')[] };
  for (const c of chunks) {
    if (c.encoding === ENCODING_HISTOGRAM || c.encoding === ENCODING_FLOAT_HISTOGRAM) {
      histogramChunkSamples(c.data, c.encoding, from, to, h);
      continue;
    }
    const it = new XORIterator(c.data);
    while (it.next()) {
      if (it.t < from || it.t > to) continue;
      ts[k] = it.t;
      vb[2 * k] = it.lo;
      vb[2 * k + 1] = it.hi;
      k++;
    }
  }
  if (!histograms) return k > 0 ? { labels, timestamps: ts.subarray(0, k), values: vs.subarray(0, k) } : undefined;
  const s = withHistograms(k > 0 ? { timestamps: ts.subarray(0, k), values: vs.subarray(0, k) } : undefined, h);
  return s && { labels, ...s };
}
