import fc from 'fast-check';
import { DistinctSketch, EXACT_MAX, hashKey, hashPairsKey } from './distinct-sketch.js';

function sketchOf(keys: Iterable<string>): DistinctSketch {
  const s = new DistinctSketch();
  for (const k of keys) s.add(hashKey(k));
  return s;
}

function roundTrip(s: DistinctSketch): DistinctSketch {
  const buf = new Uint8Array(s.encodedSize() + 3);
  const end = s.encodeTo(buf, 3);
  expect(end).toBe(buf.length);
  const { sketch, next } = DistinctSketch.decodeFrom(buf, 3);
  expect(next).toBe(end);
  return sketch;
}

describe('DistinctSketch', () => {
  // Relative error bound per size: exact up to EXACT_MAX, then 4 standard errors of 1.04/sqrt(4096).
  test.each([
    [0, 0],
    [1, 0],
    [EXACT_MAX, 0],
    [EXACT_MAX + 1, 0.065],
    [2_000, 0.065],
    [20_000, 0.065],
    [100_000, 0.065],
  ])('%d distinct keys estimate within %d relative error', (n, bound) => {
    const s = new DistinctSketch();
    for (let i = 0; i < n; i++) {
      s.add(hashKey(`v${i}`));
      s.add(hashKey(`v${i}`)); // duplicates count once
    }
    expect(s.isExact).toBe(n <= EXACT_MAX);
    const est = s.estimate();
    expect(Math.abs(est - n)).toBeLessThanOrEqual(bound * n);
    expect(roundTrip(s).estimate()).toBe(est);
  });

  test('the error over many large sketches is about the expected 1.6% standard error', () => {
    const errs: number[] = [];
    for (let r = 0; r < 20; r++) {
      const s = sketchOf(Array.from({ length: 5000 }, (_, i) => `run${r}-${i}`));
      errs.push(s.estimate() / 5000 - 1);
    }
    const rms = Math.sqrt(errs.reduce((a, e) => a + e * e, 0) / errs.length);
    expect(rms).toBeLessThan(0.025);
    expect(rms).toBeGreaterThan(0.002); // a sketch that counted exactly would not be a HyperLogLog
  });

  test('merging the replicas of a set counts it once (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { maxLength: 1500 }), fc.integer({ min: 1, max: 3 }), (items, rf) => {
        // Three "receivers" each hold a different subset; every item is on rf of them.
        const parts = [new DistinctSketch(), new DistinctSketch(), new DistinctSketch()];
        items.forEach((it, i) => {
          for (let r = 0; r < rf; r++) parts[(i + r) % 3].add(hashKey(it));
        });
        const merged = new DistinctSketch();
        for (const p of parts) merged.merge(roundTrip(p));
        const single = sketchOf(items);
        // The merge of the parts is the sketch of the union: the same estimate, bit for bit.
        expect(merged.estimate()).toBe(single.estimate());
      }),
      { numRuns: 60 },
    );
  });

  test('merge is commutative and idempotent on dense sketches', () => {
    const a = sketchOf(Array.from({ length: 3000 }, (_, i) => `a${i}`));
    const b = sketchOf(Array.from({ length: 1000 }, (_, i) => `b${i}`));
    const ab = new DistinctSketch();
    ab.merge(a);
    ab.merge(b);
    const ba = new DistinctSketch();
    ba.merge(b);
    ba.merge(a);
    ba.merge(a);
    expect(ab.estimate()).toBe(ba.estimate());
    expect(Math.abs(ab.estimate() - 4000)).toBeLessThan(4000 * 0.065);
  });

  test('label-set keys separate pair boundaries and are 53-bit integers', () => {
    expect(hashPairsKey(['a', 'bc'])).not.toBe(hashPairsKey(['ab', 'c']));
    expect(hashPairsKey(['__name__', 'up'])).toBe(hashPairsKey(['__name__', 'up']));
    fc.assert(
      fc.property(fc.array(fc.string()), (pairs) => {
        const k = hashPairsKey(pairs);
        expect(Number.isSafeInteger(k) && k >= 0).toBe(true);
      }),
    );
  });

  test('decoding refuses truncated or unknown input', () => {
    expect(() => DistinctSketch.decodeFrom(new Uint8Array([7]), 0)).toThrow(/unknown tag/);
    expect(() => DistinctSketch.decodeFrom(new Uint8Array([0, 5, 0, 0, 0]), 0)).toThrow(/truncated/);
    expect(() => DistinctSketch.decodeFrom(new Uint8Array([1, 0, 0]), 0)).toThrow(/truncated/);
  });
});
