import fc from 'fast-check';
import { pace, paceYields, setPaceSlice, sortPaced } from './pace.js';

afterEach(() => setPaceSlice(5));

test('sortPaced sorts like Array.prototype.sort, stably, for every length around the run size', async () => {
  setPaceSlice(0);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 5000 }), async (xs) => {
      // Pairs (value, original index): stability shows in the index order among equal values.
      const items = xs.map((v, i) => [v, i] as const);
      const want = [...items].sort((a, b) => a[0] - b[0]);
      const got = await sortPaced([...items], (a, b) => a[0] - b[0]);
      expect(got).toEqual(want);
    }),
    { numRuns: 60 },
  );
});

async function busyLoop(ms: number): Promise<{ ticks: number; yields: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const before = paceYields();
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // 0.2 ms of busy work standing in for decoding a series.
    const t = performance.now();
    while (performance.now() - t < 0.2);
    const y = pace();
    if (y) await y;
  }
  clearInterval(timer);
  return { ticks, yields: paceYields() - before };
}

test('a long paced loop lets timers and I/O run between slices; with an endless slice nothing else runs', async () => {
  setPaceSlice(2);
  const paced = await busyLoop(100);
  setPaceSlice(Infinity);
  const unpaced = await busyLoop(100);
  expect(paced.yields).toBeGreaterThan(0);
  expect(paced.ticks).toBeGreaterThan(0);
  expect(unpaced).toEqual({ ticks: 0, yields: 0 });
});
