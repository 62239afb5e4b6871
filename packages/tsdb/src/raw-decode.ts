/**
 * Decodes what Querier.selectRaw returns into the Series select() would have returned: on the
 * thread that evaluates the query (a query worker), so the decoded arrays and their garbage never
 * touch the heap of the thread that owns the store.
 */
import { mergeParts, type FloatHistogram, type RawPart, type RawSeries, type Series } from '@strata/model';
import { decodeSeriesChunks } from './block/reader.js';
import { histogramChunkSamples, withHistograms } from './head/histogram-series.js';

/** First index whose timestamp is >= t. */
function lowerBound(ts: Float64Array, t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function decodePart(r: RawSeries, p: RawPart, from: number, to: number): Series | undefined {
  if ('chunks' in p) return decodeSeriesChunks(r.labels, [p.chunks as Uint8Array[]], from, to);
  if ('histogramChunks' in p) {
    const h = { timestamps: [] as number[], histograms: [] as (FloatHistogram | 'stale')[] };
    p.histogramChunks.forEach((c, k) => histogramChunkSamples(c, p.encodings[k], from, to, h));
    const s = withHistograms(undefined, h);
    return s && { labels: r.labels, ...s };
  }
  const i = lowerBound(p.timestamps, from);
  const j = lowerBound(p.timestamps, to + 1);
  if (j <= i) return undefined;
  const s = { labels: r.labels, timestamps: p.timestamps.subarray(i, j), values: p.values.subarray(i, j) };
  return p.histograms ? { ...s, histograms: p.histograms.slice(i, j) } : s;
}

/** The series' samples in [from, to] with its parts merged by precedence, or undefined when none. */
export function decodeRawSeries(r: RawSeries, from: number, to: number): Series | undefined {
  if (r.parts.length === 1) return decodePart(r, r.parts[0], from, to);
  const parts: Series[] = [];
  for (const p of r.parts) {
    const s = decodePart(r, p, from, to);
    if (s) parts.push(s);
  }
  if (parts.length === 0) return undefined;
  return mergeParts(parts);
}
