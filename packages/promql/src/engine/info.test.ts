import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, type Matcher, type Querier, type SelectHints } from '@strata/model';
import { TSDB } from '@strata/tsdb';
import { parse } from '../parser/parser.js';
import { Engine } from './engine.js';
import { infoSeriesMatchers, infoTimeModifiers } from './info.js';

const MIN = 60_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-info-'));
let db: TSDB;

// Minutes 0..9: two instances of a job with one target_info each, and two target_info series of
// instance "dup" with a sample at the same time (a conflict info() must refuse, not pick from).
beforeAll(async () => {
  db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
  const app = (await db.tenant('t')).appender();
  const series: Record<string, string>[] = [
    { __name__: 'up', job: 'api', instance: 'a' },
    { __name__: 'up', job: 'api', instance: 'b' },
    { __name__: 'up', job: 'api', instance: 'dup' },
    { __name__: 'target_info', job: 'api', instance: 'a', region: 'eu' },
    { __name__: 'target_info', job: 'api', instance: 'b', region: 'us' },
    { __name__: 'target_info', job: 'api', instance: 'dup', region: 'eu' },
    { __name__: 'target_info', job: 'api', instance: 'dup', region: 'us' },
    { __name__: 'unrelated', job: 'other', instance: 'z', region: 'eu' },
  ];
  const refs = series.map((o) => app.ref(Labels.fromObject(o)));
  for (let m = 0; m < 10; m++) for (const ref of refs) app.append(ref, m * MIN, 1);
  await app.commit();
});
afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The tenant's querier, recording the matchers of every select. */
async function recording(tenant = 't'): Promise<{ q: Querier; selects: string[] }> {
  const inner = (await db.tenant(tenant)).querier();
  const selects: string[] = [];
  const q: Querier = {
    select: (ms: readonly Matcher[], h: SelectHints) => {
      selects.push(ms.map((m) => m.toString()).join(','));
      return inner.select(ms, h);
    },
    series: (ms, h) => inner.series(ms, h),
    labelNames: (ms, h) => inner.labelNames(ms, h),
    labelValues: (n, ms, h) => inner.labelValues(n, ms, h),
  };
  return { q, selects };
}

describe('info()', () => {
  const engine = new Engine();

  test('reads only the info series of the identifying labels it met, however wide its selector', async () => {
    const { q, selects } = await recording();
    const out = await engine.instantQuery(q, 'info(up{instance="a"}, {region=~".*"})', 5 * MIN);
    if (out.result.resultType !== 'vector') throw new Error('vector expected');
    expect(out.result.vector.map((s) => s.labels.toString())).toEqual(['up{instance="a", job="api", region="eu"}']);
    // The selector {region=~".*"} matches every series, but is never selected on its own.
    expect(selects).toEqual(['__name__="up",instance="a"', 'instance=~"a",job=~"api",region=~".*",__name__="target_info"']);
  });

  test('past 256 values of an identifying label, the info series are sorted out after the select, not by a regex', async () => {
    const app = (await db.tenant('big')).appender();
    for (let i = 0; i < 300; i++) {
      app.append(app.ref(Labels.fromObject({ __name__: 'up', job: 'api', instance: `i${i}` })), 0, 1);
      app.append(app.ref(Labels.fromObject({ __name__: 'target_info', job: 'api', instance: `i${i}`, zone: `z${i % 3}` })), 0, 1);
    }
    // An info series of an instance no series has: selected, never joined.
    app.append(app.ref(Labels.fromObject({ __name__: 'target_info', job: 'api', instance: 'other', zone: 'zx' })), 0, 1);
    await app.commit();
    const { q, selects } = await recording('big');
    const out = await engine.instantQuery(q, 'count by (zone) (info(up))', MIN);
    if (out.result.resultType !== 'vector') throw new Error('vector expected');
    expect(out.result.vector.map((s) => `${s.labels.toString()} ${s.v}`)).toEqual([
      '{zone="z0"} 100',
      '{zone="z1"} 100',
      '{zone="z2"} 100',
    ]);
    expect(selects).toEqual(['__name__="up"', 'job=~"api",__name__="target_info"']);
  });

  test('identifying label values are matched literally, not as patterns', async () => {
    const { q, selects } = await recording();
    await engine.instantQuery(q, 'info(label_replace(up{instance="a"}, "instance", "a.b|c", "", ""))', 5 * MIN);
    expect(selects[1]).toBe('instance=~"a\\\\.b\\\\|c",job=~"api",__name__="target_info"');
  });

  test.each([
    ['info(up, {region="eu"}, 1)', /expected at least 1 argument|at most 2/],
    ['info(up, up)', /expected label selectors only, got vector selector instead/],
    ['info(up, {region="eu"} + 1)', /expected label selectors only/],
    ['info(up, 1)', /expected type instant vector in call to function "info", got scalar/],
    ['info(up[5m])', /expected type instant vector in call to function "info", got range vector/],
  ])('%s is refused: %p', (query, msg) => {
    expect(() => parse(query)).toThrow(msg);
  });

  test('two info series of one identifying label set with samples at the same time are an error', async () => {
    const { q } = await recording();
    await expect(engine.instantQuery(q, 'info(up{instance="dup"})', 5 * MIN)).rejects.toThrow(
      /found duplicate series for info metric: existing target_info\{instance="dup", .*\} @ 300000, new/,
    );
  });

  test('the info series it loads count against the sample limit', async () => {
    const { q } = await recording();
    // At 9m the selector loads the 5 samples of (4m, 9m], keeping 1; the info series 5 more.
    const small = new Engine({ maxSamples: 5 });
    await expect(small.instantQuery(q, 'up{instance="a"}', 9 * MIN)).resolves.toBeDefined();
    await expect(small.instantQuery(q, 'info(up{instance="a"})', 9 * MIN)).rejects.toThrow(/too many samples/);
  });

  test.each([
    ['info(up)', { offset: 0, at: null, atModifier: null }],
    ['info(up offset 5m)', { offset: 5 * MIN, at: null, atModifier: null }],
    ['info(rate(up[5m] @ 120))', { offset: 0, at: 120_000, atModifier: null }],
    // The offsets of the subqueries around the selector add up to the first one pinned by @.
    ['info(max_over_time((up offset 1m)[10m:1m] offset 2m))', { offset: 3 * MIN, at: null, atModifier: null }],
    ['info(max_over_time((up offset 1m)[10m:1m] @ end() offset 2m))', { offset: 3 * MIN, at: null, atModifier: 'end' }],
    ['info(max_over_time(max_over_time(up[5m:1m] @ 60)[10m:1m] offset 1m))', { offset: 0, at: 60_000, atModifier: null }],
    // The first selector in evaluation order decides.
    ['info(up offset 1m * on() group_left up offset 2m)', { offset: MIN, at: null, atModifier: null }],
    ['info(vector(1))', { offset: 0, at: null, atModifier: null }],
  ])('%s reads its info series with %p', (query, want) => {
    const e = parse(query);
    if (e.kind !== 'Call') throw new Error('call expected');
    expect(infoTimeModifiers(e.args[0])).toEqual(want);
  });

  test.each([
    ['info(up)', ['__name__="target_info"']],
    ['info(up, {region="eu"})', ['region="eu"', '__name__="target_info"']],
    ['info(up, {__name__=~"build_info|target_info"})', ['__name__=~"build_info|target_info"']],
    ['info(up, {__name__!="target_info"})', ['__name__=~".+_info"', '__name__!="target_info"']],
  ])('%s selects info series with %p', (query, want) => {
    const e = parse(query);
    if (e.kind !== 'Call') throw new Error('call expected');
    expect(infoSeriesMatchers(e).map((m) => m.toString())).toEqual(want);
  });
});
