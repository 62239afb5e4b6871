/**
 * A metric query grouping `by` some labels lets `| json` set only the labels the query reads:
 * its answers and its errors must be those of the full parser.
 */
import { evaluateLogql, parseLogql } from '../src/index.js';
import { labelsRead } from '../src/logql/pipeline.js';
import type { RangeAggExpr, VectorAggExpr } from '../src/logql/ast.js';
import { MemoryLogQuerier } from './memory-log-querier.js';

const S = 1_000_000_000n;
const store = () =>
  new MemoryLogQuerier([
    {
      labels: { app: 'api', level: 'stream' },
      entries: [
        [1n * S, '{"level":"info","latency":"0.5","user":{"id":7},"tags":["a"]}'],
        [2n * S, '{"level":"warn","latency":"x","user":{"id":8}}'],
        [3n * S, 'level=error latency=2'],
      ],
    },
  ]);

async function outcome(q: string): Promise<unknown> {
  try {
    return await evaluateLogql(parseLogql(q), store(), { startNs: 0n, endNs: 10n * S, stepNs: 0n, limit: 100, direction: 'backward' });
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe('labels a metric query reads', () => {
  test.each([
    ['sum by (level_extracted) (count_over_time({app="api"} | json [1m]))', ['level_extracted', '__error__']],
    ['sum by (a) (count_over_time({app="api"} | json | user_id > 7 | b=~"x" [1m]))', ['a', '__error__', 'user_id', 'b']],
    ['sum by (a) (sum_over_time({app="api"} | json | drop c | unwrap latency | d="" [1m]))', ['a', '__error__', 'c', 'latency', 'd']],
    ['sum without (a) (count_over_time({app="api"} | json [1m]))', undefined],
    ['count_over_time({app="api"} | json [1m])', undefined],
    ['sum by (a) (count_over_time({app="api"} | json | line_format "{{.b}}" [1m]))', undefined],
    ['sum by (a) (count_over_time({app="api"} | json | label_format a="{{.b}}" [1m]))', undefined],
    ['sum by (a) (count_over_time({app="api"} | json | keep a [1m]))', undefined],
  ])('%s', (q, want) => {
    const agg = parseLogql(q) as VectorAggExpr | RangeAggExpr;
    const range = (agg.k === 'agg' ? agg.inner : agg) as RangeAggExpr;
    const grouping = agg.k === 'agg' ? agg.grouping : range.grouping;
    const got = labelsRead(range.log.stages, grouping, range.unwrap);
    expect(got && [...got].sort()).toEqual(want && [...want].sort());
  });

  // Each query against its form without the grouping (every label set): the same error, naming every label of the entry.
  test.each([
    [
      'sum by (level_extracted) (count_over_time({app="api"} | json [1m]))',
      'count_over_time({app="api"} | json [1m])',
      /JSONParserErr.*Unexpected token/,
    ],
    [
      'sum by (app) (sum_over_time({app="api"} | json | __error__="" | unwrap latency [1m]))',
      'sum_over_time({app="api"} | json | __error__="" | unwrap latency [1m])',
      /SampleExtractionErr.*level_extracted="warn", user_id="8"/,
    ],
  ])('%s fails as %s does', async (q, ungrouped, message) => {
    const want = (await outcome(ungrouped)) as { error: string };
    expect(want.error).toMatch(message);
    expect(await outcome(q)).toEqual(want);
  });

  test('the grouped answer over the lines json parses', async () => {
    const r = (await outcome('sum by (level_extracted, user_id) (count_over_time({app="api"} | json | __error__="" [1m]))')) as {
      series: { labels: { toObject(): object }; values: number[] }[];
    };
    expect(r.series.map((s) => [s.labels.toObject(), s.values])).toEqual([
      [{ level_extracted: 'info', user_id: '7' }, [1]],
      [{ level_extracted: 'warn', user_id: '8' }, [1]],
    ]);
  });
});
