/**
 * Native histograms through the head's raw selects (what query workers are sent): selectRaw and
 * selectRawInto, packed and moved across a MessagePort by transfer, then decoded as a worker
 * decodes them, give exactly what select gives on the head's own thread: floats, histograms with
 * their counter-reset hints, staleness markers, closed and open chunks, any time window.
 */
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { Labels, Matcher, RawPacker, rawTransfer, unpackRaw, type PackedRaw, type Series } from '@strata/model';
import type { HistogramSample } from '../chunkenc/histogram.js';
import { STALE_NAN_HI, STALE_NAN_LO } from '../chunkenc/stale.js';
import { decodeRawSeries } from '../raw-decode.js';
import { Head } from './head.js';

/** One sample of a series: a float, or a histogram grown by `grow` (a counter unless `gauge`), or a stale marker. */
type Step = { kind: 'float'; v: number } | { kind: 'hist'; float: boolean; grow: number[]; gauge: boolean } | { kind: 'stale' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('float' as const), v: fc.double({ noNaN: true }) }) },
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

/** A head holding the series' steps, one sample a second, 10 samples a chunk (so closed and open chunks). */
function headOf(series: Step[][]): Head {
  const head = new Head({ outOfOrderWindowMs: 0, samplesPerChunk: 10, maxSeries: 0 });
  series.forEach((steps, i) => {
    const s = head.getOrCreate(Labels.fromObject({ __name__: 'h', i: String(i) }))!.series;
    const counts = [0, 0, 0, 0];
    steps.forEach((x, k) => {
      const t = 1000 * (k + 1);
      if (x.kind === 'float') {
        const bits = new Uint32Array(new Float64Array([x.v]).buffer);
        head.apply(s, t, bits[1], bits[0]);
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
function canonical(s: Series): unknown {
  return {
    labels: s.labels.key(),
    ts: [...s.timestamps],
    bits: Buffer.from(new Uint8Array(s.values.buffer, s.values.byteOffset, s.values.byteLength)).toString('hex'),
    hs: s.histograms?.some((h) => h) ? s.histograms.map((h) => h && { ...h }) : undefined,
  };
}

async function viaPort(p: PackedRaw): Promise<PackedRaw> {
  const { port1, port2 } = new MessageChannel();
  const got = new Promise<PackedRaw>((resolve) => port2.once('message', resolve));
  port1.postMessage(p, rawTransfer(p));
  const out = await got;
  port1.close();
  port2.close();
  return out;
}

const byLabels = (a: Series, b: Series) => Labels.compare(a.labels, b.labels);

test('selectRaw and selectRawInto (across a MessagePort) decode to what select gives, histograms included (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(stepArb, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 0, max: 45_000 }),
      fc.integer({ min: 0, max: 45_000 }),
      async (series, a, b) => {
        const head = headOf(series);
        const q = head.querier();
        const hints = { start: Math.min(a, b), end: Math.max(a, b) };
        const ms = [new Matcher('=', '__name__', 'h')];
        const want = (await q.select(ms, hints)).map(canonical);
        const decode = (raw: ReturnType<typeof unpackRaw>) =>
          raw
            .map((r) => decodeRawSeries(r, hints.start, hints.end))
            .filter((s): s is Series => !!s)
            .sort(byLabels)
            .map(canonical);
        expect(decode(await q.selectRaw!(ms, hints))).toEqual(want);
        const into = new RawPacker();
        await q.selectRawInto!(ms, hints, into);
        expect(decode(unpackRaw(await viaPort(into.finish())))).toEqual(want);
      },
    ),
    { numRuns: 150 },
  );
});

test('a series of histograms only is a series to /api/v1/series and the fetch budget', async () => {
  const head = headOf([[{ kind: 'hist', float: false, grow: [1, 0, 2, 0], gauge: false }]]);
  const charged = { series: 0, bytes: 0 };
  const budget = { series: (n: number) => (charged.series += n), chunks: () => {}, bytes: (n: number) => (charged.bytes += n) };
  const q = head.querier();
  const hints = { start: 0, end: 10_000, budget };
  expect(await q.series([new Matcher('=', '__name__', 'h')], hints)).toHaveLength(1);
  await q.selectRawInto!([new Matcher('=', '__name__', 'h')], hints, new RawPacker());
  expect(charged.series).toBe(1);
  expect(charged.bytes).toBeGreaterThan(0);
});
