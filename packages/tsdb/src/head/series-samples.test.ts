import { Labels, mulberry32 } from '@strata/model';
import { MemSeries } from './series.js';

const DAY = 86_400_000;
const STALE = [0x7ff00000, 0x00000002]; // Prometheus' staleness marker (hi, lo)

/** What samples() must answer: every stored sample in [mint, maxt], the in-order one winning a tie. */
function reference(stored: Map<number, [number, number]>, mint: number, maxt: number): { t: number[]; bits: number[] } {
  const t = [...stored.keys()].filter((x) => x >= mint && x <= maxt).sort((a, b) => a - b);
  return { t, bits: t.flatMap((x) => [stored.get(x)![1], stored.get(x)![0]]) };
}

describe('MemSeries.samples', () => {
  it.each([1, 2, 3, 4])('answers exactly the stored samples of any window, over closed, open and out-of-order data (seed %i)', (seed) => {
    const rnd = mulberry32(seed);
    const s = new MemSeries(1, Labels.fromObject({ __name__: 'm' }));
    const stored = new Map<number, [number, number]>();
    let t = 1_700_000_000_000;
    for (let i = 0; i < 500; i++) {
      t += 1 + Math.floor(rnd() * 30_000);
      // Counters, gauges, repeats and staleness markers: every value encoding path of the chunk.
      const r = rnd();
      const hi = r < 0.05 ? STALE[0] : r < 0.3 ? 0x40590000 : (0x40000000 + Math.floor(rnd() * 0x100000)) >>> 0;
      const lo = r < 0.05 ? STALE[1] : r < 0.3 ? 0 : Math.floor(rnd() * 2 ** 32) >>> 0;
      s.append(t, hi, lo, 120, DAY);
      stored.set(t, [hi, lo]);
    }
    // Out-of-order samples between the in-order ones.
    for (let i = 0; i < 40; i++) {
      const at = 1_700_000_000_000 + Math.floor(rnd() * (t - 1_700_000_000_000));
      if (stored.has(at)) continue;
      s.keepOutOfOrder(at, 0x3ff00000, i);
      stored.set(at, [0x3ff00000, i]);
    }
    expect(s.chunks.length).toBeGreaterThan(2);
    const first = 1_700_000_000_000;
    for (let q = 0; q < 300; q++) {
      const a = first - 60_000 + Math.floor(rnd() * (t - first + 120_000));
      const b = a + Math.floor(rnd() * (q % 3 === 0 ? 600_000 : t - first));
      const want = reference(stored, a, b);
      const got = s.samples(a, b);
      if (want.t.length === 0) {
        expect(got).toBeUndefined();
        continue;
      }
      expect(got).toBeDefined();
      expect(Array.from(got!.timestamps)).toEqual(want.t);
      // Bit-exact values: the staleness marker's NaN payload included.
      expect(Array.from(new Uint32Array(got!.values.buffer, got!.values.byteOffset, got!.values.length * 2))).toEqual(want.bits);
    }
  });

  it('answers arrays of their own, which later reads and appends leave unchanged', () => {
    const s = new MemSeries(1, Labels.fromObject({ __name__: 'm' }));
    for (let i = 0; i < 50; i++) s.append(i * 1000, 0x40000000, i, 120, DAY);
    const a = s.samples(10_000, 20_000)!;
    const b = s.samples(0, 5_000)!;
    for (let i = 50; i < 60; i++) s.append(i * 1000, 0x40000000, i, 120, DAY);
    expect(Array.from(a.timestamps)).toEqual(Array.from({ length: 11 }, (_, i) => (10 + i) * 1000));
    expect(Array.from(new Uint32Array(a.values.buffer, a.values.byteOffset, 22)).filter((_, i) => i % 2 === 0)).toEqual(
      Array.from({ length: 11 }, (_, i) => 10 + i),
    );
    expect(Array.from(b.timestamps)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    // Exactly sized: a short window over a long chunk keeps no buffer of the chunk's size alive.
    expect(a.timestamps.buffer.byteLength).toBe(11 * 8);
  });
});
