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

test('one slice runs per turn of the event loop, however many loops are paced', async () => {
  setPaceSlice(3);
  const log: string[] = [];
  const timer = setInterval(() => log.push('T'), 1);
  const loop = async (name: string) => {
    const until = performance.now() + 120;
    // The deadline is checked only where a slice begins: a loop ending part way through a slice
    // would leave a slice shorter than the timer's 1 ms, after which the timer is rightly not due.
    // And each loop runs three slices at least: a busy machine can leave a process off its core
    // for most of the 120 ms (3 slices in all were seen beside other suites).
    for (let slices = 0; ; slices++) {
      log.push(name);
      for (;;) {
        const t = performance.now();
        while (performance.now() - t < 0.2);
        const y = pace();
        if (y) {
          await y;
          break;
        }
      }
      if (performance.now() >= until && slices >= 2) return;
    }
  };
  await Promise.all([loop('A'), loop('B')]);
  clearInterval(timer);
  const slices = log.filter((x) => x !== 'T').length;
  expect(slices).toBeGreaterThan(4);
  // Timers (and so I/O, polled in the same turn) get their turn between any two slices: with one
  // 3 ms slice per turn the 1 ms timer is always due again.
  // (Both loops start in the same turn, before the first tick: that start is not a resumption.)
  const resumed = log.slice(log.indexOf('T'));
  const backToBack = resumed.filter((x, i) => x !== 'T' && i > 0 && resumed[i - 1] !== 'T').length;
  expect(backToBack).toBe(0);
});
