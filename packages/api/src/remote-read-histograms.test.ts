/**
 * Remote-read's two response types carry what the head's select gives, native histograms
 * included: streamed, as typed chunks (XOR, float histogram) decoded by their type; as SAMPLES, in
 * TimeSeries.histograms. Bit for bit, counter-reset hints too, for any mix of floats, integer and
 * float histograms, counters with resets, gauges and staleness markers, over any window.
 */
import fc from 'fast-check';
import { decodeChunkedFrames, decodeReadResponse, encodeChunkedFrame, encodeReadResponse } from '@strata/remote';
import { CounterResetHint, Matcher, type Series } from '@strata/model';
import { decodeSeriesTypedChunks, encodeSeriesChunks } from '@strata/tsdb';
import { canonical, headOf, stepArb } from '../../tsdb/test/histogram-heads.js';
import { toChunks } from './remote-read.js';

test('streamed chunks and SAMPLES decode to the head select, histograms and their hints included (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(stepArb, { minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 0, max: 310_000 }),
      fc.integer({ min: 0, max: 310_000 }),
      async (series, a, b) => {
        const [start, end] = [Math.min(a, b), Math.max(a, b)];
        const selected = await headOf(series)
          .querier()
          .select([new Matcher('=', '__name__', 'h')], { start, end });
        const want = selected.map(canonical);
        const frames = decodeChunkedFrames(
          Buffer.concat(selected.map((s) => encodeChunkedFrame(0, [{ labels: s.labels, chunks: toChunks(s) }]))),
        );
        const streamed = frames.map((f) =>
          decodeSeriesTypedChunks(
            f.labels,
            f.chunks.map((c) => ({ encoding: c.type, data: c.data })),
            start,
            end,
          ),
        );
        // A chunk's first sample reads back "not a reset" as unknown (see series-chunks.ts); every
        // other hint, and all samples, come back as the head gave them.
        const wantStreamed = selected.map((s) => canonical(firstOfChunksUnknown(s)));
        expect(streamed.map((s) => s && canonical(s))).toEqual(wantStreamed);
        const [samples] = decodeReadResponse(encodeReadResponse([selected]));
        expect(samples.map((s) => canonical({ ...s }))).toEqual(want);
      },
    ),
    { numRuns: 100 },
  );
});

/** The series with "not a reset" on the first sample of each of its encoded chunks made unknown. */
function firstOfChunksUnknown(s: Series): Series {
  if (!s.histograms) return s;
  const starts = new Set(encodeSeriesChunks(s).map((c) => c.minT));
  const histograms = s.histograms.map((h, i) =>
    h && starts.has(s.timestamps[i]) && h.counterResetHint === CounterResetHint.NotCounterReset
      ? Object.assign(Object.create(Object.getPrototypeOf(h)), h, { counterResetHint: CounterResetHint.Unknown })
      : h,
  );
  return { ...s, histograms };
}
