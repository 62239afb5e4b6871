/**
 * The rollup side data of remote-read (docs/format/rollup-read.md): series encoded as the store
 * sends them decode to the same samples, counts and sketches, clipped to any range alike; a store
 * answer whose side data does not match its samples is refused. Series sent as rollup parts join to
 * exactly what the store would have joined.
 */
import fc from 'fast-check';
import { Labels, type Series } from '@strata/model';
import { decodeChunkedFrames, encodeChunkedFrame } from '@strata/remote';
import { AGGR_MODES, joinSourceParts, RES_5M, rollupFromRaw, rollupToChunks, type SourcePart } from '@strata/tsdb';
import {
  CHUNK_TYPE_ROLLUP_AGGR,
  CHUNK_TYPE_ROLLUP_PART,
  decodeRollupParts,
  decodeSeriesChunks,
  maxResolutionOf,
  rollupChunks,
  rollupPartChunks,
  xorChunks,
} from './rollup-read.js';

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

/** Everything of a joined series, values and counts as bits, sketches as bytes. */
function flat(s: Series | undefined) {
  if (!s) return undefined;
  return {
    l: s.labels.key(),
    t: Array.from(s.timestamps),
    v: bits(s.values),
    counts: s.rollup && bits(s.rollup.counts),
    sketches: s.rollup?.sketches && Array.from(s.rollup.sketches, (x) => (x ? Buffer.from(x).toString('hex') : '')),
    quantile: s.rollup?.quantile !== undefined,
  };
}

/** A counter with resets and staleness markers, cut into pieces, each a raw part or a 5m rollup of its samples. */
const partsArb = fc.record({
  steps: fc.array(
    fc.record({
      gap: fc.integer({ min: 1_000, max: 400_000 }),
      inc: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constant(-1), fc.constant(NaN)),
    }),
    { minLength: 20, maxLength: 600 },
  ),
  cuts: fc.array(
    // Cut points in hundredths of the samples; a clip of 100 answers for the whole piece (not clipped).
    fc.record({ at: fc.integer({ min: 1, max: 99 }), rollup: fc.boolean(), clip: fc.integer({ min: 1, max: 100 }) }),
    { minLength: 2, maxLength: 5 },
  ),
  mode: fc.constantFrom(...AGGR_MODES),
});

function partsOf(arb: { steps: { gap: number; inc: number }[]; cuts: { at: number; rollup: boolean; clip: number }[] }): SourcePart[] {
  let t = 1_700_000_000_000;
  let c = 0;
  const ts = new Float64Array(arb.steps.length);
  const vs = new Float64Array(arb.steps.length);
  arb.steps.forEach((s, i) => {
    ts[i] = t += s.gap;
    if (Number.isNaN(s.inc)) vs[i] = NaN;
    else vs[i] = c = s.inc < 0 ? 0 : c + s.inc;
  });
  const bounds = [...new Set([0, ...arb.cuts.map((x) => Math.floor((x.at / 100) * ts.length)), ts.length])].sort((a, b) => a - b);
  const parts: SourcePart[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const t0 = ts.subarray(bounds[k], bounds[k + 1]);
    const v0 = vs.subarray(bounds[k], bounds[k + 1]);
    const cut = arb.cuts[k % arb.cuts.length];
    if (!cut.rollup) {
      const keep = Array.from(t0.keys()).filter((i) => !Number.isNaN(v0[i]));
      if (keep.length) parts.push({ kind: 'raw', t: Float64Array.from(keep, (i) => t0[i]), v: Float64Array.from(keep, (i) => v0[i]) });
      continue;
    }
    const r = rollupFromRaw(t0, v0, RES_5M);
    if (!r) continue;
    // The range the block answers for: from its first sample to a point inside it, clipped or not.
    const from = t0[0];
    const to = cut.clip === 100 ? t0[t0.length - 1] : from + Math.floor((cut.clip / 100) * (t0[t0.length - 1] - from));
    parts.push({ kind: 'rollup-chunks', chunks: rollupToChunks(r, RES_5M).map((x) => x.data), from, to, clipped: cut.clip < 100 });
  }
  return parts;
}

test('rollup parts sent over a streamed frame join to what the store would have joined (property)', () => {
  const labels = Labels.fromObject({ __name__: 'x_total' });
  fc.assert(
    fc.property(partsArb, (arb) => {
      const parts = partsOf(arb);
      const chunks = rollupPartChunks(parts, arb.mode);
      expect(chunks).toBeDefined();
      const [frame] = decodeChunkedFrames(encodeChunkedFrame(0, [{ labels, chunks: chunks! }]));
      // The rollups' chunks go as they are, not decoded and encoded again.
      const sent = frame.chunks.filter((x) => x.type === CHUNK_TYPE_ROLLUP_AGGR).map((x) => Buffer.from(x.data).toString('hex'));
      const stored = parts.flatMap((p) => (p.kind === 'rollup-chunks' ? p.chunks.map((x) => Buffer.from(x).toString('hex')) : []));
      expect(sent).toEqual(stored);
      expect(flat(decodeRollupParts(labels, frame.chunks))).toEqual(flat(joinSourceParts(labels, parts, arb.mode)));
    }),
    { numRuns: 300, seed: 7 },
  );
});

test('a rollup part frame that does not start with a part chunk, or names no mode, fails the answer', () => {
  const labels = Labels.fromObject({ __name__: 'x_total' });
  const aggr = { type: CHUNK_TYPE_ROLLUP_AGGR, minT: 0, maxT: 1, data: new Uint8Array(6) };
  expect(() => decodeRollupParts(labels, [aggr])).toThrow(/does not start with its part chunk/);
  expect(() => decodeRollupParts(labels, [{ type: CHUNK_TYPE_ROLLUP_PART, minT: 0, maxT: 1, data: Uint8Array.of(0, 99) }])).toThrow(
    /mode 99/,
  );
  const raw = { type: CHUNK_TYPE_ROLLUP_PART, minT: 0, maxT: 1, data: Uint8Array.of(2, 0) };
  expect(() => decodeRollupParts(labels, [raw, aggr])).toThrow(/not XOR/);
  // A native histogram part has no wire form: the store sends the joined series instead.
  expect(rollupPartChunks([{ kind: 'raw', t: Float64Array.of(1), v: Float64Array.of(0), h: [] }], 'counter')).toBeUndefined();
});
