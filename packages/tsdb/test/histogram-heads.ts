/**
 * Heads holding random series of floats and native histograms (counters with and without
 * resets, gauges, float and integer histograms, staleness markers), for read-path tests that
 * compare what a path gives with the head's own select.
 */
import fc from 'fast-check';
import { Labels, type Series } from '@strata/model';
import type { HistogramSample } from '../src/chunkenc/histogram.js';
import { STALE_NAN_HI, STALE_NAN_LO } from '../src/chunkenc/stale.js';
import { Head } from '../src/head/head.js';

/**
 * One sample of a series: a float (`stale`: a float staleness marker; `same`: at the previous
 * step's time, beside a histogram there), or a histogram grown by `grow` (a counter unless
 * `gauge`), or a histogram staleness marker.
 */
export type Step =
  | { kind: 'float'; v: number; stale: boolean; same: boolean }
  | { kind: 'hist'; float: boolean; grow: number[]; gauge: boolean }
  | { kind: 'stale' };

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('float' as const),
      v: fc.double(),
      stale: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      same: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('hist' as const),
      float: fc.boolean(),
      grow: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 4, maxLength: 4 }),
      gauge: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'stale' as const }) },
);

/** Positive buckets -1..2 of schema 1 (one span), counts as given; integer samples carry deltas. */
function histogramOf(abs: number[], float: boolean, stale = false): HistogramSample {
  const deltas = abs.map((c, k) => c - (k > 0 ? abs[k - 1] : 0));
  const count = abs.reduce((a, b) => a + b, 0) + 1;
  const sum = stale ? new Float64Array(new Uint32Array([STALE_NAN_LO, STALE_NAN_HI]).buffer)[0] : count * 0.75;
  return {
    schema: 1,
    zeroThreshold: 0.001,
    zeroCount: 1,
    count,
    sum,
    positiveSpans: [{ offset: -1, length: 4 }],
    positiveBuckets: float ? abs : deltas,
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [],
  };
}

/** A head holding the series' steps (labels h{i="<index>"} and `extra`), one sample a second, 10 samples a chunk (so closed and open chunks). */
export function headOf(series: Step[][], extra: Record<string, string> = {}): Head {
  const head = new Head({ outOfOrderWindowMs: 0, samplesPerChunk: 10, maxSeries: 0 });
  series.forEach((steps, i) => {
    const s = head.getOrCreate(Labels.fromObject({ ...extra, __name__: 'h', i: String(i) }))!.series;
    const counts = [0, 0, 0, 0];
    steps.forEach((x, k) => {
      const t = 1000 * (k + 1);
      if (x.kind === 'float') {
        const bits = new Uint32Array(new Float64Array([x.v]).buffer);
        const [hi, lo] = x.stale ? [STALE_NAN_HI, STALE_NAN_LO] : [bits[1], bits[0]];
        // Beside a histogram at the previous step's time (the float wins there on every path).
        if (x.same && k > 0 && steps[k - 1].kind === 'hist') head.apply(s, t - 1000, hi, lo);
        head.apply(s, t, hi, lo);
      } else if (x.kind === 'stale') head.applyHistogramLogged(s, t, histogramOf(counts, false, true), false, 0);
      else {
        x.grow.forEach((g, b) => (counts[b] += g));
        head.applyHistogramLogged(s, t, histogramOf(counts, x.float), x.float, x.gauge ? 3 : 0);
      }
    });
  });
  return head;
}

/**
 * A series as bits and plain histogram fields, for exact comparison. A histogram column without
 * a histogram in it (the series had some outside the window) means what no column means.
 */
export function canonical(s: Series): unknown {
  return {
    labels: s.labels.key(),
    ts: [...s.timestamps],
    bits: Buffer.from(new Uint8Array(s.values.buffer, s.values.byteOffset, s.values.byteLength)).toString('hex'),
    hs: s.histograms?.some((h) => h) ? s.histograms.map((h) => h && { ...h }) : undefined,
  };
}
