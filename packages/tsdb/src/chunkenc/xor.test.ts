import fc from 'fast-check';
import { ChunkCorruptError, decodeXORBits, decodeXORInto, floatBits, XOREncoder, XORIterator } from './xor.js';
import { isStaleNaN, STALE_NAN } from './stale.js';

function roundTrip(ts: number[], hi: number[], lo: number[]): { ts: number[]; hi: number[]; lo: number[] } {
  const e = new XOREncoder(8);
  for (let i = 0; i < ts.length; i++) e.appendBits(ts[i], hi[i], lo[i]);
  const it = new XORIterator(e.bytes().slice());
  const out = { ts: [] as number[], hi: [] as number[], lo: [] as number[] };
  while (it.next()) {
    out.ts.push(it.t);
    out.hi.push(it.hi);
    out.lo.push(it.lo);
  }
  return out;
}

describe('XOR chunk', () => {
  test('golden bytes for two samples, derived by hand from the format', () => {
    const e = new XOREncoder();
    e.append(1000, 1);
    e.append(2000, 2);
    // count=2 | varint(1000)=D0 0F | bits(1.0) | uvarint(1000)=E8 07 | '1' '1' leading=00001 sig=001011 then 11 ones
    expect(Buffer.from(e.bytes()).toString('hex')).toBe('0002d00f3ff0000000000000e807c25fff');
  });

  test('identical values cost one bit, regular intervals one bit', () => {
    const e = new XOREncoder();
    for (let i = 0; i < 120; i++) e.append(1_700_000_000_000 + i * 15_000, 42);
    // header + first sample (~14 bytes) + 118 * 2 bits
    expect(e.bytes().length).toBeLessThan(50);
  });

  const ts = fc
    .tuple(
      fc.integer({ min: -1e12, max: 4e12 }),
      fc.array(fc.oneof(fc.constant(0), fc.constant(15_000), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 100 })), {
        minLength: 0,
        maxLength: 300,
      }),
    )
    .map(([start, deltas]) => {
      const out = [start];
      for (const d of deltas) out.push(out[out.length - 1] + d);
      return out;
    });
  const value = fc.oneof(
    fc.double(),
    fc.constantFrom(NaN, STALE_NAN, Infinity, -Infinity, -0, 0, 1, Number.MAX_VALUE, Number.MIN_VALUE),
    fc.integer().map((i) => i * 1.0),
  );

  test('random series round-trip bit-exactly (property)', () => {
    fc.assert(
      fc.property(ts, fc.array(value, { minLength: 301, maxLength: 301 }), (times, vals) => {
        const hi: number[] = [];
        const lo: number[] = [];
        for (let i = 0; i < times.length; i++) {
          const [h, l] = floatBits(vals[i]);
          hi.push(h);
          lo.push(l);
        }
        const got = roundTrip(times, hi, lo);
        expect(got.ts).toEqual(times);
        expect(got.hi).toEqual(hi);
        expect(got.lo).toEqual(lo);
      }),
      { numRuns: 300 },
    );
  });

  test('raw bit patterns, including signalling NaN payloads, survive', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })), { minLength: 1, maxLength: 200 }),
        (bits) => {
          const times = bits.map((_, i) => i * 1000);
          const got = roundTrip(
            times,
            bits.map((b) => b[0]),
            bits.map((b) => b[1]),
          );
          expect(got.hi).toEqual(bits.map((b) => b[0]));
          expect(got.lo).toEqual(bits.map((b) => b[1]));
        },
      ),
    );
  });

  test('decodeXORInto keeps the staleness marker bit-exact and honours the range', () => {
    const e = new XOREncoder();
    e.append(1, 1.5);
    e.append(2, STALE_NAN);
    e.append(3, -0);
    e.append(4, NaN);
    const tsOut = new Float64Array(4);
    const vsOut = new Float64Array(4);
    const n = decodeXORInto(e.bytes(), tsOut, vsOut, 0, 2, 3);
    expect(n).toBe(2);
    expect(Array.from(tsOut.subarray(0, 2))).toEqual([2, 3]);
    expect(isStaleNaN(vsOut[0])).toBe(true);
    expect(Object.is(vsOut[1], -0)).toBe(true);
  });

  test('a truncated chunk is a ChunkCorruptError, not garbage or a hang', () => {
    const e = new XOREncoder();
    for (let i = 0; i < 50; i++) e.append(i * 1000 + (i % 7), Math.random());
    const bytes = e.bytes().slice(0, 20);
    const it = new XORIterator(bytes);
    expect(() => {
      while (it.next());
    }).toThrow(ChunkCorruptError);
  });

  // Found by fuzzing (npm run fuzz -- xor-chunk): these were RangeErrors, which callers cannot tell
  // apart from bugs. Chunks come from blocks in a bucket and from remote-read peers.
  test.each([
    ['shorter than its header', Buffer.from([0])],
    ['an overlong first timestamp varint', Buffer.from([0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
    ['a count larger than its bits', Buffer.from([0xff, 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0])],
  ])('%s is a ChunkCorruptError', (_name, bytes) => {
    expect(() => {
      const it = new XORIterator(bytes);
      while (it.next());
    }).toThrow(ChunkCorruptError);
  });

  test('any damage to a chunk decodes to something or throws ChunkCorruptError, never another error', () => {
    const e = new XOREncoder();
    for (let i = 0; i < 40; i++) e.append(1_000_000 + i * 15_000 + (i % 5) * 7, i % 3 === 0 ? NaN : i * 0.1);
    const good = e.bytes().slice();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(good.length),
        (edits, cut) => {
          const bytes = good.slice(0, Math.max(cut, 0));
          for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
          try {
            const it = new XORIterator(bytes);
            while (it.next());
          } catch (err) {
            expect(err).toBeInstanceOf(ChunkCorruptError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('the bulk decoder equals the iterator on any chunk and any range (property)', () => {
    fc.assert(
      fc.property(
        ts,
        fc.array(value, { minLength: 301, maxLength: 301 }),
        fc.nat({ max: 300 }),
        fc.nat({ max: 300 }),
        (times, vals, a, b) => {
          const e = new XOREncoder(8);
          times.forEach((t, i) => e.append(t, vals[i]));
          const bytes = e.bytes().slice();
          const [i, j] = [a % times.length, b % times.length];
          const [from, to] = [times[Math.min(i, j)], times[Math.max(i, j)]];
          const want = { ts: [] as number[], bits: [] as number[] };
          const it = new XORIterator(bytes);
          while (it.next()) {
            if (it.t < from || it.t > to) continue;
            want.ts.push(it.t);
            want.bits.push(it.lo, it.hi);
          }
          // Written at an offset into larger arrays, as the block reader fills one array per series.
          const outTs = new Float64Array(times.length + 5);
          const outBits = new Uint32Array(2 * (times.length + 5));
          const end = decodeXORBits(bytes, outTs, outBits, 3, from, to);
          expect(end - 3).toBe(want.ts.length);
          expect(Array.from(outTs.subarray(3, end))).toEqual(want.ts);
          expect(Array.from(outBits.subarray(6, 2 * end))).toEqual(want.bits);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('the bulk decoder rejects a truncated chunk at every cut with a ChunkCorruptError', () => {
    const e = new XOREncoder();
    for (let i = 0; i < 50; i++) e.append(i * 1000 + (i % 7), i * 0.37);
    const full = e.bytes().slice();
    const out = new Float64Array(50);
    for (let cut = 0; cut < full.length - 1; cut++) {
      expect(() => decodeXORInto(full.slice(0, cut), out, new Float64Array(50), 0)).toThrow(ChunkCorruptError);
    }
    expect(decodeXORInto(full, out, new Float64Array(50), 0)).toBe(50);
  });
});
