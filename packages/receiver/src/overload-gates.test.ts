import { Registry } from 'prom-client';
import { OverloadGates } from './overload-gates.js';

const gates = (opts: { ready?: () => boolean; diskMinFreeBytes?: number } = {}) =>
  new OverloadGates({
    maxInflightBytes: 1000,
    diskMinFreeBytes: opts.diskMinFreeBytes ?? 0,
    storagePath: '/',
    ready: opts.ready,
    registry: new Registry(),
  });

describe('overload gates', () => {
  test('in-flight bytes: reservations add up to the budget, past it 503 + Retry-After; released bytes free it', () => {
    const g = gates();
    const a = g.reserve(600);
    expect(() => g.reserve(500)).toThrow(expect.objectContaining({ id: 'too-many-inflight-bytes', status: 503, retryAfter: 5 }));
    const b = g.reserve(400);
    expect(g.inflightBytes).toBe(1000);
    a.release();
    a.release(); // twice is once
    expect(g.inflightBytes).toBe(400);
    // A body longer than declared grows its reservation and is refused past the budget.
    expect(() => b.grow(601)).toThrow(expect.objectContaining({ id: 'too-many-inflight-bytes' }));
    b.release();
    expect(g.inflightBytes).toBe(0);
  });

  test('while the WAL replays writes wait (503 not-ready)', () => {
    let ready = false;
    const g = gates({ ready: () => ready });
    expect(() => g.check()).toThrow(expect.objectContaining({ id: 'not-ready', status: 503 }));
    ready = true;
    expect(() => g.check()).not.toThrow();
  });

  test('disk: more free space demanded than any disk has -> 503 disk-nearly-full', () => {
    expect(() => gates({ diskMinFreeBytes: Number.MAX_SAFE_INTEGER }).check()).toThrow(
      expect.objectContaining({ id: 'disk-nearly-full', status: 503 }),
    );
    expect(() => gates({ diskMinFreeBytes: 1 }).check()).not.toThrow();
  });
});
