/**
 * The LogQL conformance suite: every case of the tables in this folder, evaluated over the fixed data
 * set, compared with the streams or samples Loki's documented semantics give (derived by hand; see
 * each table). Each case runs twice: with the store honouring the pushed-down line filter and ignoring it.
 */
import { Labels } from '@strata/model';
import { evaluateLogql, parseLogql, type LogqlResult } from '../../src/index.js';
import { at, dataset, STREAMS, T0_NS } from './dataset.js';
import type { Case, LabelSet } from './case.js';
import { LOG_QUERY_CASES } from './log-queries.js';
import { PARSER_CASES } from './parsers.js';
import { FORMAT_CASES } from './formatting.js';
import { METRIC_CASES } from './metrics.js';
import { ERROR_CASES } from './errors.js';

const ALL: Case[] = [...LOG_QUERY_CASES, ...PARSER_CASES, ...FORMAT_CASES, ...METRIC_CASES, ...ERROR_CASES];

const lineAt = new Map<number, string>();
for (const s of STREAMS) for (const [t, line] of s.entries) lineAt.set(Number((t - T0_NS) / 1_000_000n) / 1000, line);

const key = (l: LabelSet): string => Labels.fromObject(l).toString();
const sec = (ns: bigint): number => Number((ns - T0_NS) / 1_000_000n) / 1000;

async function run(c: Case, applyLineFilter: boolean): Promise<LogqlResult> {
  const expr = parseLogql(c.q);
  const metric = expr.k !== 'log';
  const instant = metric && c.step === undefined;
  return evaluateLogql(expr, dataset(applyLineFilter), {
    startNs: instant ? at(c.at ?? 60) : at(c.start ?? 0),
    endNs: instant ? at(c.at ?? 60) : at(c.end ?? 60),
    stepNs: BigInt((c.step ?? 0) * 1e9),
    limit: c.limit ?? 1000,
    direction: c.dir ?? 'forward',
  });
}

function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
}

describe.each([true, false])('LogQL conformance (store applies line filter: %s)', (applyLineFilter) => {
  test('the suite has at least 150 cases', () => {
    expect(ALL.length).toBeGreaterThanOrEqual(150);
  });

  test.each(ALL.map((c, i) => [`${i}: ${c.q.replace(/\n/g, '\\n')}`, c] as const))('%s', async (_name, c) => {
    if (c.error) {
      await expect(run(c, applyLineFilter)).rejects.toThrow(c.error);
      return;
    }
    const r = await run(c, applyLineFilter);
    if (c.streams) {
      expect(r.type).toBe('streams');
      if (r.type !== 'streams') return;
      const got = r.streams.map((s) => [s.labels.toString(), s.timestampsNs.map((t, i) => [sec(t), s.lines[i]])]);
      const want = c.streams.map(([l, es]) => [key(l), es.map((e) => (typeof e === 'number' ? [e, lineAt.get(e)] : e))]);
      const byKey = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
      expect(got.sort(byKey)).toEqual(want.sort(byKey));
      return;
    }
    if (c.scalar !== undefined) {
      expect(r.type).toBe('scalar');
      if (r.type === 'scalar') expect(close(r.value, c.scalar)).toBe(true);
      return;
    }
    expect(r.type).toBe('matrix');
    if (r.type !== 'matrix') return;
    const want: [string, [number, number][]][] = c.vector
      ? c.vector.map(([l, v]) => [key(l), [[c.at ?? 60, v]]])
      : c.matrix!.map(([l, pts]) => [key(l), pts]);
    const got: [string, [number, number][]][] = r.series.map((s) => [
      s.labels.toString(),
      s.timestampsNs.map((t, i) => [sec(t), s.values[i]]),
    ]);
    if (!c.ordered) {
      got.sort((a, b) => a[0].localeCompare(b[0]));
      want.sort((a, b) => a[0].localeCompare(b[0]));
    }
    expect(got.map((g) => [g[0], g[1].map((p) => p[0])])).toEqual(want.map((w) => [w[0], w[1].map((p) => p[0])]));
    got.forEach((g, i) =>
      g[1].forEach((p, j) => {
        if (!close(p[1], want[i][1][j][1])) throw new Error(`${g[0]} at ${p[0]}s: got ${p[1]}, want ${want[i][1][j][1]}`);
      }),
    );
  });
});
