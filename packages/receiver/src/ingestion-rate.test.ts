import fc from 'fast-check';
import { IngestionRate, ROUTER_WINDOW_MS } from './ingestion-rate.js';
import { Limits } from '@strata/api';
import { localSeriesLimit } from './writer.js';

function limiter(rate: number, burst: number) {
  let now = 1_000_000;
  const limits = new Limits({
    defaults: {
      ingestionRate: rate,
      ingestionBurstSize: burst,
      maxGlobalSeriesPerUser: 0,
      maxLabelNamesPerSeries: 30,
      maxLabelNameLength: 1024,
      maxLabelValueLength: 2048,
    },
  });
  const r = new IngestionRate({ limits, status: 503, now: () => now });
  /** Offers `perSecond` samples/s in requests of `size` for `seconds`; returns the samples accepted. */
  const offer = (perSecond: number, size: number, seconds: number) => {
    let accepted = 0;
    const step = (size / perSecond) * 1000;
    for (let t = 0; t < seconds * 1000; t += step) {
      now += step;
      try {
        r.charge('t', size);
        accepted += size;
      } catch (e) {
        expect(e).toMatchObject({ id: 'ingestion-rate-limited', status: 503 });
      }
    }
    return accepted;
  };
  return { r, offer, advance: (ms: number) => (now += ms) };
}

describe('ingestion rate: charged once per client sample, global per tenant', () => {
  test('under the limit nothing is refused; over it about the limit is accepted (property over rates and request sizes)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 100_000 }), fc.integer({ min: 1, max: 50 }), (rate, requestsPerSecond) => {
        const size = Math.max(1, Math.floor(rate / requestsPerSecond));
        const burst = size * 2;
        expect(limiter(rate, burst).offer(rate * 0.9, size, 10)).toBeGreaterThanOrEqual(Math.floor((rate * 0.9 * 10) / size) * size - size);
        const over = limiter(rate, burst).offer(rate * 1.5, size, 10);
        expect(over).toBeLessThanOrEqual(rate * 10 + burst + size);
        expect(over).toBeGreaterThanOrEqual(rate * 10 * 0.9 - size);
      }),
      { numRuns: 50 },
    );
  });

  test('a tenant whose clients enter through k receivers gets limit/k on each; a receiver is forgotten after the window', () => {
    const { r, offer, advance } = limiter(1000, 100);
    expect(r.entryPoints('t')).toBe(1);
    r.noteRouter('t', 'b:1');
    r.noteRouter('t', 'c:1');
    r.noteRouter('other', 'd:1');
    expect(r.entryPoints('t')).toBe(3);
    expect(r.entryPoints('other')).toBe(2);
    const accepted = offer(1000, 10, 10);
    expect(accepted).toBeGreaterThan(3000);
    expect(accepted).toBeLessThan(3500); // 1000/3 per second plus the burst
    advance(ROUTER_WINDOW_MS + 1);
    expect(r.entryPoints('t')).toBe(1);
  });

  test('rate 0 is unlimited', () => {
    expect(limiter(0, 0).offer(1e6, 1000, 1)).toBe(1e6);
  });
});

describe('series limit: a series counts once per ring', () => {
  test.each([
    // global, share (RF / ring size), per-receiver limit
    [1000, 1, 1000], // RF = ring size: every receiver holds every series
    [1000, 3 / 6, 500],
    [1000, 3 / 4, 750],
    [10, 3 / 7, 5], // rounded up: never below the share
    [1, 3 / 100, 1],
    [0, 3 / 6, 0], // unlimited stays unlimited
  ])('global %d, share %d -> %d per receiver', (global, share, want) => {
    expect(localSeriesLimit(global, share)).toBe(want);
  });
});
