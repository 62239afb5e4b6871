import fc from 'fast-check';
import { Labels } from './labels.js';
import { Matcher } from './matchers.js';
import { inQueryShards, parseQueryShard, queryShardMatcher, seriesShardHash, splitQueryShard } from './query-shard.js';

test.each([
  ['1_of_1', { index: 0, of: 1 }],
  ['3_of_16', { index: 2, of: 16 }],
  ['16_of_16', { index: 15, of: 16 }],
])('%s names shard %p', (v, want) => {
  expect(parseQueryShard(v)).toEqual(want);
  expect(queryShardMatcher(want.index, want.of).value).toBe(v);
});

test.each(['0_of_4', '5_of_4', '1_of_0', '01_of_4', '1of4', '1_of_4x', ''])('%p is refused as a bad query', (v) => {
  expect(() => parseQueryShard(v)).toThrow(expect.objectContaining({ id: 'bad-query' }));
});

test('the pseudo-matcher is taken out of the matchers; others stay in order', () => {
  const a = new Matcher('=', '__name__', 'up');
  const b = new Matcher('!=', 'job', 'x');
  expect(splitQueryShard([a, b])).toEqual({ matchers: [a, b], shards: undefined });
  const r = splitQueryShard([a, queryShardMatcher(1, 4), b]);
  expect(r.matchers).toEqual([a, b]);
  expect(r.shards).toEqual([{ index: 1, of: 4 }]);
});

test('each series is in exactly one of n shards', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ minLength: 1 }), fc.string({ minLength: 1 })), fc.integer({ min: 1, max: 64 }), (obj, n) => {
      const l = Labels.fromObject(obj);
      let hits = 0;
      for (let i = 0; i < n; i++) if (inQueryShards(l, [{ index: i, of: n }])) hits++;
      return hits === 1;
    }),
  );
});

test('shards are balanced for series that differ in one label value', () => {
  const n = 16;
  const counts = new Array<number>(n).fill(0);
  const total = 16_000;
  for (let i = 0; i < total; i++) counts[seriesShardHash(Labels.fromObject({ __name__: 'm', instance: `host-${i}:9100` })) % n]++;
  for (const c of counts) {
    expect(c).toBeGreaterThan((total / n) * 0.85);
    expect(c).toBeLessThan((total / n) * 1.15);
  }
});
