/**
 * Rule queries in-process (engineQueries): each expression is parsed once and the parsed form is
 * reused every round, the answers stay those of the engine over the text, and a rule that does
 * not parse still fails with the parser's error at every evaluation.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels } from '@strata/model';
import { Engine, type Expr } from '@strata/promql';
import { TSDB } from '@strata/tsdb';
import { engineQueries } from '../src/sources.js';

let dir: string;
let db: TSDB;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-engine-queries-'));
  db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, maxSeries: 0 }, compactIntervalMs: 0 });
  const app = (await db.tenant('t')).appender();
  for (const [job, v] of [
    ['a', 1],
    ['b', 2],
    ['b', 5],
  ] as [string, number][])
    app.append(app.ref(Labels.fromObject({ __name__: 'up', job, instance: `${job}${v}` })), 1_000_000, v);
  await app.commit();
});
afterAll(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an expression is parsed once, its answers equal the engine over the text', async () => {
  const engine = new Engine();
  const seen: (string | Expr)[] = [];
  const spy: Pick<Engine, 'instantQuery'> = {
    instantQuery: (q, query, t, o) => {
      seen.push(query);
      return engine.instantQuery(q, query, t, o);
    },
  };
  const queries = engineQueries(spy, db.queryable());
  const rounds = [];
  for (let r = 0; r < 3; r++) rounds.push(await queries.instant('t', 'sum by (job) (up)', 1_000_000 + r * 1000));
  rounds.push(await queries.instant('t', 'count(up)', 1_000_000));
  // The first and later rounds hand the engine the same parsed object; another text, another one.
  expect(typeof seen[0]).toBe('object');
  expect(seen[1]).toBe(seen[0]);
  expect(seen[2]).toBe(seen[0]);
  expect(seen[3]).not.toBe(seen[0]);
  const direct = await engine.instantQuery(db.queryable().querier('t'), 'sum by (job) (up)', 1_000_000);
  expect(direct.result.resultType).toBe('vector');
  const want = direct.result.resultType === 'vector' ? direct.result.vector.map((s) => [s.labels.toString(), s.v]) : [];
  for (const r of rounds.slice(0, 3)) expect(r.labels.map((l, i) => [l.toString(), r.values[i]])).toEqual(want);
  expect([...rounds[3].values]).toEqual([3]);
});

test('a rule that does not parse fails at every evaluation with the parser error', async () => {
  const queries = engineQueries(new Engine(), db.queryable());
  for (let r = 0; r < 2; r++) await expect(queries.instant('t', 'sum by (job (up)', 1_000_000)).rejects.toThrow(/parse error/);
});
