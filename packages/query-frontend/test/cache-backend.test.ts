/** One contract for both results cache backends, then what only one of them promises. */
import { MemcachedCache, MemoryCache, type CacheBackend } from '@strata/query-frontend';
import { startMemcached, type Memcached } from './memcached.js';

let memcached: Memcached;
beforeAll(async () => {
  memcached = await startMemcached();
});
afterAll(() => memcached.stop());

const backends: [string, () => CacheBackend][] = [
  ['memory', () => new MemoryCache(16 * 1024 * 1024, 0)],
  ['memcached', () => new MemcachedCache({ addresses: [memcached.address], ttlSeconds: 60, timeoutMs: 500 })],
];

describe.each(backends)('%s backend contract', (_name, make) => {
  let c: CacheBackend;
  beforeEach(() => {
    c = make();
  });
  afterEach(() => c.close());
  const key = () => `qf1:test-${Math.random().toString(36).slice(2)}`;

  test('a key never set is a miss', async () => {
    expect(await c.get(key())).toBeUndefined();
  });
  test('values come back byte for byte, binary and large ones too', async () => {
    const values = [Buffer.from('{"a":1}'), Buffer.from([0, 255, 10, 13, 0]), Buffer.alloc(200_000, 7), Buffer.alloc(0)];
    for (const v of values) {
      const k = key();
      await c.set(k, v);
      const got = await c.get(k);
      expect(got && Buffer.compare(got, v)).toBe(0);
    }
  });
  test('a set replaces the previous value', async () => {
    const k = key();
    await c.set(k, Buffer.from('one'));
    await c.set(k, Buffer.from('two'));
    expect((await c.get(k))?.toString()).toBe('two');
  });
  test('keys are independent', async () => {
    const [a, b] = [key(), key()];
    await c.set(a, Buffer.from('a'));
    await c.set(b, Buffer.from('b'));
    expect((await c.get(a))?.toString()).toBe('a');
    expect((await c.get(b))?.toString()).toBe('b');
  });
});

describe('memory backend', () => {
  test('is bounded in bytes: the least recently used entries go first', async () => {
    const c = new MemoryCache(10_000, 0);
    for (let i = 0; i < 10; i++) await c.set(`k${i}`, Buffer.alloc(1500));
    // Entries are 1502 bytes: six fit.
    expect(c.size()).toBeLessThanOrEqual(10_000);
    expect(await c.get('k0')).toBeUndefined();
    expect(await c.get('k9')).toBeDefined();
    // Touching k4 makes it young: the next insert evicts k5 instead.
    expect(await c.get('k4')).toBeDefined();
    await c.set('k10', Buffer.alloc(1500));
    expect(await c.get('k4')).toBeDefined();
    expect(await c.get('k5')).toBeUndefined();
    // A value larger than the whole cache is not kept, and evicts nothing.
    await c.set('huge', Buffer.alloc(20_000));
    expect(await c.get('huge')).toBeUndefined();
    expect(await c.get('k10')).toBeDefined();
  });
  test('entries expire after the TTL', async () => {
    let now = 1000;
    const c = new MemoryCache(10_000, 5000, () => now);
    await c.set('k', Buffer.from('v'));
    now += 4999;
    expect(await c.get('k')).toBeDefined();
    now += 2;
    expect(await c.get('k')).toBeUndefined();
  });
});

describe('memcached backend', () => {
  test('an unreachable memcached is a miss within the timeout, and a set is dropped, never an error', async () => {
    const m = await startMemcached();
    const errors: unknown[] = [];
    // Killed, memcached refuses at once: the deadline only has to hold while it answers, on a loaded machine too.
    const c = new MemcachedCache({ addresses: [m.address], ttlSeconds: 60, timeoutMs: 1_000, onError: (e) => errors.push(e) });
    await c.set('k', Buffer.from('v'));
    expect((await c.get('k'))?.toString()).toBe('v');
    await m.stop();
    const t = performance.now();
    expect(await c.get('k')).toBeUndefined();
    await c.set('k2', Buffer.from('v'));
    expect(performance.now() - t).toBeLessThan(2000);
    expect(errors.length).toBeGreaterThan(0);
    // It comes back (empty) on the same port: the client reconnects.
    const again = await startMemcached(m.port);
    let got: Buffer | undefined;
    for (let i = 0; i < 20 && !got; i++) {
      await c.set('k3', Buffer.from('back'));
      got = await c.get('k3');
    }
    expect(got?.toString()).toBe('back');
    await c.close();
    await again.stop();
  });
});
