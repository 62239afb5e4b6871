import { parse } from '@strata/promql';
import { shardPlan } from './shard.js';

describe('shardPlan', () => {
  test.each([
    ['sum(rate(x[5m]))', ['sum(rate(x{__query_shard__="2_of_3"}[5m]))']],
    ['sum by (job) (x offset 1h)', ['sum by (job) (x{__query_shard__="2_of_3"} offset 1h)']],
    ['count(up == 1)', ['count(up{__query_shard__="2_of_3"} == 1)']],
    ['avg without (i) (x)', ['sum without (i) (x{__query_shard__="2_of_3"})', 'count without (i) (x{__query_shard__="2_of_3"})']],
    ['topk by (job) (3, -x)', ['topk by (job) (3, -x{__query_shard__="2_of_3"})']],
    ['max(max_over_time(rate(x{a="b"}[5m])[1h:1m]))', ['max(max_over_time(rate(x{a="b", __query_shard__="2_of_3"}[5m])[1h:1m]))']],
    ['(group by (a) (clamp(x, 0, 1)))', ['group by (a) (clamp(x{__query_shard__="2_of_3"}, 0, 1))']],
    ['min(2 * abs(x) - 1)', ['min(2 * abs(x{__query_shard__="2_of_3"}) - 1)']],
  ])('%s is sharded as %p', (q, want) => {
    const plan = shardPlan(parse(q));
    expect(plan).toBeDefined();
    expect(plan!.queries(1, 3)).toEqual(want);
    // Every shard's queries parse: what goes downstream is valid PromQL.
    for (let i = 0; i < 3; i++) for (const s of plan!.queries(i, 3)) expect(() => parse(s)).not.toThrow();
  });

  test.each([
    'x',
    'rate(x[5m])',
    'sum(x) / sum(y)',
    'sum(sum by (a) (x))',
    'sum(x * y)',
    'sum(x and y)',
    'sum(x * scalar(y))',
    'sum(histogram_quantile(0.9, x))',
    'sum(label_replace(x, "a", "$1", "b", "(.*)"))',
    'sum(vector(1))',
    'sum(absent(x))',
    'topk(scalar(y), x)',
    'topk(2.5, x)',
    'quantile(0.9, x)',
    'stddev(x)',
    'count_values("v", x)',
    'sum(sort(x))',
    'sum(hour())',
  ])('%s is not shardable', (q) => {
    expect(shardPlan(parse(q))).toBeUndefined();
  });
});
