import os from 'node:os';
import { availableMemory, MemoryBudget, readMemory, type MemoryReading } from './memory-budget.js';

describe('memory budget', () => {
  test.each<[string, MemoryReading, string | undefined]>([
    ['well under both ceilings', { rss: 500, heapUsed: 10, heapLimit: 100 }, undefined],
    ['resident memory over the limit', { rss: 1001, heapUsed: 10, heapLimit: 100 }, 'resident memory'],
    ['V8 heap over 90% of its limit', { rss: 500, heapUsed: 91, heapLimit: 100 }, 'JavaScript heap'],
    ['exactly at the limit is still accepted', { rss: 1000, heapUsed: 90, heapLimit: 100 }, undefined],
  ])('%s', (_name, reading, refusal) => {
    const b = new MemoryBudget(1000, () => reading, 0);
    if (!refusal) expect(() => b.check()).not.toThrow();
    else
      expect(() => b.check()).toThrow(
        expect.objectContaining({ id: 'memory-budget-exceeded', status: 503, retryAfter: 5, message: expect.stringContaining(refusal) }),
      );
  });

  test('a reading is reused for the interval, then refreshed', () => {
    let reads = 0;
    let rss = 2000;
    const b = new MemoryBudget(1000, () => (reads++, { rss, heapUsed: 0, heapLimit: 1 }), 100);
    expect(() => b.check(0)).toThrow();
    rss = 10;
    expect(() => b.check(50)).toThrow(); // the refusal stands until the next reading
    expect(() => b.check(100)).not.toThrow();
    expect(reads).toBe(2);
  });

  test.each<[string, Record<string, string>, number]>([
    ['cgroup v2 limit', { '/sys/fs/cgroup/memory.max': '2147483648\n' }, 2147483648],
    ['cgroup v2 without a limit ("max")', { '/sys/fs/cgroup/memory.max': 'max\n' }, os.totalmem()],
    ['cgroup v1 limit', { '/sys/fs/cgroup/memory/memory.limit_in_bytes': '1073741824\n' }, 1073741824],
    ['cgroup v1 "unlimited" (a huge number)', { '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n' }, os.totalmem()],
    ['no cgroup files', {}, os.totalmem()],
  ])('available memory: %s', (_name, files, want) => {
    const read = (p: string): string => {
      if (!(p in files)) throw new Error('ENOENT');
      return files[p];
    };
    expect(availableMemory(read)).toBe(want);
  });

  test('the real reading is plausible', () => {
    const m = readMemory();
    expect(m.rss).toBeGreaterThan(1 << 20);
    expect(m.heapUsed).toBeGreaterThan(0);
    expect(m.heapLimit).toBeGreaterThan(m.heapUsed);
  });
});
