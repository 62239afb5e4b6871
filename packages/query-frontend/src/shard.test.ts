import { parse } from '@strata/promql';
import { shardPlan } from './shard.js';
import { compositeShardPlan } from './shard-composite.js';

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
    // anchored and smoothed read more samples of the same series: still series-local.
    ['sum(increase(x[5m] offset 1m anchored))', ['sum(increase(x{__query_shard__="2_of_3"}[5m] offset 1m anchored))']],
    ['sum by (a) (rate(x[5m] smoothed))', ['sum by (a) (rate(x{__query_shard__="2_of_3"}[5m] smoothed))']],
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
    // info() joins a series with info series that another shard may hold.
    'sum(info(x))',
    // An instant query's shards run as one-step range queries, whose step() is another.
    'sum(rate(x[step()*4]))',
    'sum(x offset range())',
  ])('%s is not shardable', (q) => {
    expect(shardPlan(parse(q))).toBeUndefined();
  });
});

describe('compositeShardPlan', () => {
  test.each([
    ['sum(x) / sum(y)', ['sum(x{__query_shard__="2_of_3"})', 'sum(y{__query_shard__="2_of_3"})']],
    ['sum(sum by (a) (x))', ['sum by (a) (x{__query_shard__="2_of_3"})']],
    [
      'avg(x) - on () group_left count(y > 1)',
      ['sum(x{__query_shard__="2_of_3"})', 'count(x{__query_shard__="2_of_3"})', 'count(y{__query_shard__="2_of_3"} > 1)'],
    ],
    ['histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))', ['sum by (le) (rate(x_bucket{__query_shard__="2_of_3"}[5m]))']],
    ['vector(scalar(sum(x)))', ['sum(x{__query_shard__="2_of_3"})']],
    ['topk(2, sum by (a) (x))', ['sum by (a) (x{__query_shard__="2_of_3"})']],
  ])('%s: each leg sharded as %p', (q, want) => {
    const plan = compositeShardPlan(parse(q));
    expect(plan).toBeDefined();
    expect(plan!.queries(1, 3)).toEqual(want);
  });

  test.each([
    // A selector, a subquery or a range outside the legs reads what no leg answers.
    'sum(x) / x',
    'max_over_time(sum(x)[1h:5m])',
    'sum(x * y)',
    // absent() names its selector's labels; a scalar answer has another shape than a vector's.
    'absent(sum(x))',
    'scalar(sum(x))',
    'scalar(sum(x)) * 2',
    // topk keeps metric names: only whole (shardPlan) it is a leg.
    'topk(2, x) / 2',
    'time()',
    // info() reads info series of its own, which no leg answers.
    'info(sum by (instance, job) (x))',
    'info(sum by (instance, job) (x), {__name__="build_info"})',
    'sum(rate(x[step()*4])) / sum(y)',
  ])('%s is not sharded', (q) => {
    expect(compositeShardPlan(parse(q))).toBeUndefined();
  });
});
