import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels, StrataError } from '@strata/model';
import { TSDB } from '@strata/tsdb';
import { Engine } from './engine/engine.js';
import { parse } from './parser/parser.js';
import { formatExpr } from './printer.js';
import { resolveDurations, usesQueryDurations } from './duration.js';

const MIN = 60_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-duration-'));
let db: TSDB;

// x: one sample a minute over minutes 0..59.
beforeAll(async () => {
  db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
  const app = (await db.tenant('t')).appender();
  const ref = app.ref(Labels.fromObject({ __name__: 'x' }));
  for (let m = 0; m < 60; m++) app.append(ref, m * MIN, m);
  await app.commit();
});
afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('duration expressions', () => {
  test.each([
    // Constants are the parser's: its errors are parse errors.
    ['x[5m-5m]', /duration must be greater than 0/],
    ['x[1h/0]', /division by zero/],
    ['x offset (1h % 0)', /modulo by zero/],
    ['x[1e300*1e300]', /bad duration syntax|NaN or infinite|out of range/],
    ['x[1e10*1e10]', /duration is out of range/],
  ])('%s does not parse: %p', (q, msg) => {
    expect(() => parse(q)).toThrow(msg);
  });

  test.each([
    // step() is 0 in an instant query: a range or subquery step of it means nothing.
    ['count_over_time(x[step()])', /duration must be greater than 0/],
    ['max_over_time(x[10m:step()])', /duration must be greater than 0/],
    ['x offset (1h / step())', /division by zero/],
    ['x offset ((range() - 1s) ^ 0.5)', /NaN or infinite/],
  ])('instant %s is refused as a bad query: %p', async (q, msg) => {
    const engine = new Engine();
    const run = engine.instantQuery((await db.tenant('t')).querier(), q, 30 * MIN);
    await expect(run).rejects.toThrow(msg);
    await expect(run).rejects.toBeInstanceOf(StrataError);
    await expect(run.catch((e: StrataError) => e.id)).resolves.toBe('bad-query');
  });

  test('step() and range() are those of the query, not of a subquery around them', async () => {
    const engine = new Engine();
    const q = (await db.tenant('t')).querier();
    // Over [20m, 30m] step 5m: range() is 10m, so each step counts the 10 samples of (t-10m, t].
    const out = await engine.rangeQuery(q, 'count_over_time(x[range()])', 20 * MIN, 30 * MIN, 5 * MIN);
    if (out.result.resultType !== 'matrix') throw new Error('matrix expected');
    expect(Array.from(out.result.matrix[0].values)).toEqual([10, 10, 10]);
    const sub = await engine.rangeQuery(q, 'max_over_time(count_over_time(x[step()])[10m:1m])', 20 * MIN, 30 * MIN, 5 * MIN);
    if (sub.result.resultType !== 'matrix') throw new Error('matrix expected');
    expect(Array.from(sub.result.matrix[0].values)).toEqual([5, 5, 5]);
  });

  test('a range of range() is held to the sample limit as the same range written out', async () => {
    const q = (await db.tenant('t')).querier();
    const small = new Engine({ maxSamples: 20 });
    // Over [0, 50m]: range() is 50m, as x[50m] reads 50 samples.
    const err = (query: string) =>
      small.rangeQuery(q, query, 0, 50 * MIN, 10 * MIN).then(
        () => 'answered',
        (e: Error) => e.message,
      );
    expect(await err('count_over_time(x[range()])')).toBe(await err('count_over_time(x[50m])'));
    expect(await err('count_over_time(x[range()])')).toMatch(/too many samples/);
    // A subquery step of step()/1000 (600 ms) over an hour is 6000 inner steps: refused before allocating.
    expect(await err('max_over_time(x[1h:step() / 1000])')).toMatch(/too many samples/);
    expect(await err('max_over_time(x[1h:600ms])')).toBe(await err('max_over_time(x[1h:step() / 1000])'));
  });

  test('resolving sets every range, step and offset and leaves a constant query as it is', () => {
    const plain = parse('rate(x[5m] offset 1m)');
    expect(resolveDurations(plain, 60_000, 0)).toBe(plain);
    const e = resolveDurations(parse('max_over_time(rate(x[step()*2] offset -range())[range():step()] offset step())'), 30_000, 600_000);
    expect(usesQueryDurations(e)).toBe(false);
    expect(formatExpr(e)).toBe('max_over_time(rate(x[1m] offset -10m)[10m:30s] offset 30s)');
  });

  test('min_of and max_of are functions outside durations and duration operators inside them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 600 }), (a, b) => {
        const e = resolveDurations(parse(`min_of(${a}, ${b}) + x offset max_of(${a}s, min_of(step(), ${b}s))`), 1000 * 300, 0);
        expect(formatExpr(e)).toBe(
          `min_of(${a}, ${b}) + x offset ${formatExpr(parse(`x offset ${Math.max(a, Math.min(300, b))}s`)).slice(9)}`,
        );
      }),
      { numRuns: 50 },
    );
  });
});
