/**
 * The rollup side data of remote-read (docs/format/rollup-read.md): series encoded as the store
 * sends them decode to the same samples, counts and sketches, clipped to any range alike; a store
 * answer whose side data does not match its samples is refused.
 */
import fc from 'fast-check';
import { Labels, type Series } from '@strata/model';
import { decodeSeriesChunks, maxResolutionOf, rollupChunks, xorChunks } from './rollup-read.js';

const seriesArb = fc
  .array(
    fc.record({
      gap: fc.integer({ min: 1, max: 3_600_000 }),
      v: fc.oneof(fc.double(), fc.constant(NaN)),
      count: fc.integer({ min: 1, max: 1_000 }),
      sketch: fc.option(fc.uint8Array({ minLength: 1, maxLength: 60 }), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 400 },
  )
  .chain((samples) => fc.record({ samples: fc.constant(samples), rollup: fc.constantFrom<Arb['rollup']>('none', 'counts', 'quantile') }));

interface Arb {
  samples: { gap: number; v: number; count: number; sketch: Uint8Array | undefined }[];
  rollup: 'none' | 'counts' | 'quantile';
}

function build({ samples, rollup }: Arb): Series {
  let t = 1_700_000_000_000;
  const timestamps = Float64Array.from(samples, (s) => (t += s.gap));
  const values = Float64Array.from(samples, (s) => s.v);
  const labels = Labels.fromObject({ __name__: 'x' });
  if (rollup === 'none') return { labels, timestamps, values };
  const counts = Float64Array.from(samples, (s) => s.count);
  if (rollup === 'counts') return { labels, timestamps, values, rollup: { counts } };
  const sketches = samples.map((s) => s.sketch);
  return { labels, timestamps, values, rollup: { counts, sketches, quantile: () => 0 } };
}

const bits = (a: Float64Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length * 2));

test('encode then decode keeps samples, counts and sketches, clipped alike (property)', () => {
  fc.assert(
    fc.property(seriesArb, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (arb, a, b) => {
      const s = build(arb);
      const first = s.timestamps[0];
      const span = s.timestamps[s.timestamps.length - 1] - first;
      const start = first + Math.floor(Math.min(a, b) * span);
      const end = first + Math.floor(Math.max(a, b) * span);
      const got = decodeSeriesChunks([...xorChunks(s.timestamps, s.values), ...rollupChunks(s)], start, end);
      const keep = Array.from(s.timestamps.keys()).filter((i) => s.timestamps[i] >= start && s.timestamps[i] <= end);
      expect(Array.from(got.timestamps)).toEqual(keep.map((i) => s.timestamps[i]));
      expect(bits(got.values)).toEqual(bits(Float64Array.from(keep, (i) => s.values[i])));
      expect(got.rollup === undefined).toBe(s.rollup === undefined);
      if (!s.rollup) return;
      expect(Array.from(got.rollup!.counts)).toEqual(keep.map((i) => s.rollup!.counts[i]));
      expect(got.rollup!.quantile === undefined).toBe(s.rollup.quantile === undefined);
      if (s.rollup.quantile)
        expect(Array.from(got.rollup!.sketches!, (x) => x && Array.from(x))).toEqual(
          keep.map((i) => s.rollup!.sketches![i] && Array.from(s.rollup!.sketches![i]!)),
        );
    }),
    { numRuns: 200, seed: 12 },
  );
});

test('side data that does not match the samples fails the answer', () => {
  const s = build({
    samples: Array.from({ length: 200 }, (_, i) => ({ gap: 1000, v: i, count: 3, sketch: Uint8Array.of(i) })),
    rollup: 'quantile',
  });
  const values = xorChunks(s.timestamps, s.values);
  const side = rollupChunks(s);
  const counts = side.filter((c) => c.type === 1001);
  const sketches = side.filter((c) => c.type === 1002);
  const decode = (chunks: typeof side) => () => decodeSeriesChunks(chunks, -Infinity, Infinity);
  expect(decode([...values, ...counts.slice(1), ...sketches])).toThrow(/rollup counts for 200 samples/);
  expect(decode([...values, ...counts, ...sketches.slice(1)])).toThrow(/rollup sketches for 200 samples/);
  expect(decode([...values.slice(1), ...counts, ...sketches])).toThrow(/more rollup counts than samples/);
  expect(decode([...values, ...counts, ...sketches])).not.toThrow();
});

test.each([
  [undefined, 0],
  ['3600000', 3600000],
  ['0', 0],
  ['-5', 0],
  ['1h', 0],
  ['1e9', 0],
  [['300000', '1'], 300000],
])('header %p means max resolution %p', (header, want) => {
  expect(maxResolutionOf(header)).toBe(want);
});
