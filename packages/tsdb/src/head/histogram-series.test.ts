import fc from 'fast-check';
import { CounterResetHint, FloatHistogram } from '@strata/model';
import { CounterResetHeader, decodeHistogramChunk, type HistogramSample } from '../chunkenc/histogram.js';
import { HistogramSeriesData } from './histogram-series.js';

const BLOCK = 2 * 3600_000;

/** A counter histogram given as absolute counts by bucket index (positive side). */
interface Step {
  schema: number;
  counts: Map<number, number>;
  zero: number;
}

function sampleOf(s: Step, float: boolean): HistogramSample {
  const idx = [...s.counts.keys()].sort((a, b) => a - b);
  const spans: { offset: number; length: number }[] = [];
  let prevEnd = 0;
  for (const i of idx) {
    const last = spans[spans.length - 1];
    if (last && i === prevEnd) last.length++;
    else spans.push({ offset: spans.length === 0 ? i : i - prevEnd, length: 1 });
    prevEnd = i + 1;
  }
  const abs = idx.map((i) => s.counts.get(i)!);
  const buckets = float ? abs : abs.map((c, k) => c - (k > 0 ? abs[k - 1] : 0));
  const total = abs.reduce((a, b) => a + b, 0) + s.zero;
  return {
    schema: s.schema,
    zeroThreshold: 0.001,
    zeroCount: s.zero,
    count: total,
    sum: total * 1.5,
    positiveSpans: spans,
    positiveBuckets: buckets,
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [],
  };
}

/** Bucket contents by index, ignoring empty buckets (layouts may gain empty ones). */
function contents(h: FloatHistogram): string {
  return h
    .copy()
    .compact()
    .toString()
    .replace(/ counter_reset_hint:\w+/, '');
}

function expected(s: HistogramSample, float: boolean): string {
  let c = 0;
  const abs = Array.from(s.positiveBuckets, (b) => (float ? b : (c += b)));
  return contents(
    new FloatHistogram({
      ...s,
      positiveSpans: [...s.positiveSpans],
      positiveBuckets: abs,
      negativeSpans: [],
      negativeBuckets: [],
      customValues: undefined,
    }),
  );
}

const stepsArb = fc.array(
  fc.record({
    kind: fc.constantFrom('grow', 'grow', 'grow', 'new-bucket', 'drop-empty', 'reset', 'schema'),
    bucket: fc.integer({ min: -6, max: 6 }),
    by: fc.integer({ min: 1, max: 20 }),
  }),
  { minLength: 1, maxLength: 60 },
);

describe('head histogram series: chunk cutting and recoding as Prometheus', () => {
  test.each([
    ['integer', false],
    ['float', true],
  ])('%s counters: every sample reads back; resets, and only resets, head a chunk as such (property)', (_n, float) => {
    fc.assert(
      fc.property(stepsArb, (steps) => {
        const data = new HistogramSeriesData();
        let cur: Step = { schema: 2, counts: new Map([[0, 1]]), zero: 0 };
        const sent: { t: number; h: HistogramSample; reset: boolean }[] = [];
        let t = 1000;
        for (const st of steps) {
          const next: Step = { schema: cur.schema, counts: new Map(cur.counts), zero: cur.zero };
          let reset = false;
          let addedEmpty = false;
          if (st.kind === 'grow') {
            const keys = [...next.counts.keys()];
            if (keys.length === 0) next.counts.set(st.bucket, st.by);
            else next.counts.set(keys[st.by % keys.length], next.counts.get(keys[st.by % keys.length])! + st.by);
            next.zero += st.by % 3;
          } else if (st.kind === 'new-bucket') {
            if (!next.counts.has(st.bucket)) next.counts.set(st.bucket, st.by);
          } else if (st.kind === 'drop-empty') {
            // An empty bucket going away is no reset.
            if (!next.counts.has(st.bucket)) {
              next.counts.set(st.bucket, 0);
              addedEmpty = true;
            }
          } else if (st.kind === 'reset') {
            next.counts = new Map([[st.bucket, 1]]);
            next.zero = 0;
            reset = true;
          } else {
            next.schema = (cur.schema + 1) % 4; // a schema change: chunk cut, hint unknown
            next.counts = new Map([[st.bucket, sampleOf(cur, float).count + st.by]]); // the count still grows
            next.zero = cur.zero + 1;
          }
          const h = sampleOf(next, float);
          t += 15_000;
          data.append(t, h, float, CounterResetHint.Unknown, 120, BLOCK);
          // A reset step is visible when something went down (from the very first sample there is nothing to compare).
          const down = next.zero < cur.zero || [...cur.counts].some(([i, c]) => (next.counts.get(i) ?? 0) < c);
          sent.push({ t, h, reset: reset && sent.length > 0 && down });
          cur = next;
          if (addedEmpty) {
            // The next sample leaves the empty bucket out again.
            cur.counts.delete(st.bucket);
          }
        }
        const got = data.samples(-Infinity, Infinity);
        expect(got.timestamps).toEqual(sent.map((s) => s.t));
        got.histograms.forEach((g, k) => {
          expect(g).not.toBe('stale');
          const h = g as FloatHistogram;
          expect(contents(h)).toBe(expected(sent[k].h, float));
          // Read back, a chunk's first sample is "unknown" (as in Prometheus), later ones "not a reset".
          expect(h.counterResetHint).not.toBe(CounterResetHint.CounterReset);
        });
        // A reset, and only a reset, starts a chunk headed "counter reset".
        const headers = new Map(data.chunksIn(-Infinity, Infinity).map((c) => [c.minT, decodeHistogramChunk(c.data, c.encoding).header]));
        for (const s of sent) expect(headers.get(s.t) === CounterResetHeader.CounterReset).toBe(s.reset);
        // Every closed chunk is a whole Prometheus chunk: it decodes on its own, in time order.
        for (const c of data.chunksIn(-Infinity, Infinity)) {
          const d = decodeHistogramChunk(c.data, c.encoding);
          expect(d.timestamps[0]).toBe(c.minT);
          expect(d.timestamps[d.timestamps.length - 1]).toBe(c.maxT);
        }
      }),
      { numRuns: 150 },
    );
  });

  test('gauges widen the layout both ways and never read as resets', () => {
    const data = new HistogramSeriesData();
    const g = (counts: [number, number][]) => sampleOf({ schema: 0, counts: new Map(counts), zero: 0 }, true);
    data.append(1, g([[0, 5]]), true, CounterResetHint.Gauge, 120, BLOCK);
    data.append(2, g([[1, 2]]), true, CounterResetHint.Gauge, 120, BLOCK);
    data.append(3, g([[0, 1]]), true, CounterResetHint.Gauge, 120, BLOCK);
    expect(data.chunksIn(-Infinity, Infinity).length).toBe(1);
    const got = data.samples(-Infinity, Infinity).histograms as FloatHistogram[];
    expect(got.map((h) => h.counterResetHint)).toEqual([CounterResetHint.Gauge, CounterResetHint.Gauge, CounterResetHint.Gauge]);
    expect(got.map((h) => h.count)).toEqual([5, 2, 1]);
    expect(decodeHistogramChunk(data.chunksIn(-Infinity, Infinity)[0].data, 3).header).toBe(CounterResetHeader.Gauge);
  });

  test('a chunk is cut at the sample limit with a "not a reset" header, and at block boundaries', () => {
    const data = new HistogramSeriesData();
    for (let i = 0; i < 5; i++)
      data.append(1000 + i, sampleOf({ schema: 0, counts: new Map([[0, i + 1]]), zero: 0 }, false), false, 0, 2, BLOCK);
    data.append(BLOCK + 1, sampleOf({ schema: 0, counts: new Map([[0, 9]]), zero: 0 }, false), false, 0, 2, BLOCK);
    const headers = data.chunksIn(-Infinity, Infinity).map((c) => decodeHistogramChunk(c.data, c.encoding).header);
    expect(headers).toEqual([
      CounterResetHeader.Unknown,
      CounterResetHeader.NotCounterReset,
      CounterResetHeader.NotCounterReset,
      CounterResetHeader.Unknown,
    ]);
  });
});
