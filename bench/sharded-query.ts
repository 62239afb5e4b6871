/**
 * `npm run bench -- --sharded-query`: one long `sum by (job) (rate(http_requests_total[5m]))` at
 * a 5m step over the dashboard data (bench/dashboard-data.ts, written as blocks over `--days`
 * days), cold (results cache off), against Strata with the query frontend sharding it
 * (`--limits.query-sharding-total-shards`, once per count of `--shards`, one shard per core by
 * default), Strata unsharded and Prometheus 2.42 opening the same blocks. Each system answers
 * `--repeats` times in turn; reported are the median and best times, their ratio to unsharded
 * Strata, CPU seconds and whether each sharded answer equals the unsharded one (to float
 * rounding: shards sum in another order).
 *   --days N (7)  --repeats N (5)  --shards N[,N...] (cores)
 *   --instances N (10): instances per job; 25 request series each, so 10 is 1,000 series read by the query
 *   --only strata-sharded-N,strata,prometheus
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempDir } from '../test/harness.js';
import { cpuSeconds, type System } from './systems.js';
import { INSTANCES_PER_JOB, writeDashboardBlocks } from './dashboard-data.js';
import { median, settle, startStrataOn, STARTERS } from './dashboard.js';

const QUERY = 'sum by (job) (rate(http_requests_total[5m]))';
const STEP_S = 300;

interface Answer {
  ms: number;
  result: { metric: Record<string, string>; values: [number, string][] }[];
}

async function ask(base: string, start: number, end: number): Promise<Answer> {
  const t0 = performance.now();
  const r = await fetch(`${base}/api/v1/query_range`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: QUERY, start: String(start / 1000), end: String(end / 1000), step: String(STEP_S) }).toString(),
  });
  const body = (await r.json()) as { status: string; data: { result: Answer['result'] }; error?: string };
  const ms = performance.now() - t0;
  if (body.status !== 'success') throw new Error(`${base}: ${body.error}`);
  return { ms, result: body.data.result };
}

/** Whether two answers have the same series and steps, and values within 1e-9 relative. */
function sameAnswer(a: Answer['result'], b: Answer['result']): boolean {
  if (a.length !== b.length) return false;
  const key = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
  const bs = new Map(b.map((s) => [key(s.metric), s.values]));
  for (const s of a) {
    const other = bs.get(key(s.metric));
    if (!other || other.length !== s.values.length) return false;
    for (let i = 0; i < s.values.length; i++) {
      const [ta, va] = s.values[i];
      const [tb, vb] = other[i];
      const x = Number(va);
      const y = Number(vb);
      if (ta !== tb || !(va === vb || Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y)))) return false;
    }
  }
  return true;
}

export async function runShardedQueryBench(opts: {
  days: number;
  repeats: number;
  shards?: number[];
  instances?: number;
  only?: string[];
}): Promise<string> {
  const shardCounts = opts.shards?.length ? opts.shards : [os.availableParallelism()];
  const starters: Record<string, (d: Awaited<ReturnType<typeof writeDashboardBlocks>>) => Promise<System>> = {};
  for (const n of shardCounts)
    starters[`strata-sharded-${n}`] = (d) =>
      startStrataOn(
        d,
        ['--query-frontend.results-cache.enabled=false', `--limits.query-sharding-total-shards=${n}`],
        `strata-sharded-${n}`,
      );
  starters.strata = (d) => startStrataOn(d, ['--query-frontend.results-cache.enabled=false'], 'strata');
  starters.prometheus = STARTERS.prometheus;
  const root = tempDir('bench-sharded');
  const data = await writeDashboardBlocks(
    path.join(root, 'blocks'),
    opts.days * 24,
    Date.now() - 60_000,
    { tenant_id: 'anonymous' },
    opts.instances ?? INSTANCES_PER_JOB,
  );
  const end = Math.floor(data.end / (STEP_S * 1000)) * STEP_S * 1000;
  const start = end - opts.days * 86_400_000 + STEP_S * 1000;
  const systems: System[] = [];
  const times = new Map<string, number[]>();
  const cpu = new Map<string, number>();
  const answers = new Map<string, Answer['result']>();
  try {
    for (const name of opts.only ?? Object.keys(starters)) systems.push(await starters[name](data));
    await settle(systems);
    const cpu0 = systems.map((s) => cpuSeconds(s.pid));
    for (let k = 0; k < opts.repeats; k++) {
      // Interleaved, so load drifting on a shared machine hits every system alike.
      for (const s of systems) {
        const a = await ask(s.queryUrl, start, end);
        times.set(s.name, [...(times.get(s.name) ?? []), a.ms]);
        answers.set(s.name, a.result);
      }
    }
    systems.forEach((s, i) => cpu.set(s.name, cpuSeconds(s.pid) - cpu0[i]));
  } finally {
    for (const s of systems) await s.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
  const names = systems.map((s) => s.name);
  const whole = answers.get('strata');
  const ratio = (n: string, f: (xs: number[]) => number): string =>
    times.has('strata') ? `${(f(times.get('strata')!) / f(times.get(n)!)).toFixed(2)}x` : '-';
  const best = (xs: number[]): number => Math.min(...xs);
  const read = data.series.filter((s) => s.labels.get('__name__') === 'http_requests_total').length;
  return [
    `## \`${QUERY}\` over ${opts.days} days (${read} series read of ${data.series.length}) at a ${STEP_S / 60}m step, cold (no results cache), ${opts.repeats} runs each; ${os.availableParallelism()} cores, load ${os.loadavg()[0].toFixed(1)}`,
    '',
    `| | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---|').join('')}`,
    `| median | ${names.map((n) => `${median(times.get(n)!).toFixed(0)} ms`).join(' | ')} |`,
    `| best | ${names.map((n) => `${best(times.get(n)!).toFixed(0)} ms`).join(' | ')} |`,
    `| unsharded Strata's median / this median | ${names.map((n) => ratio(n, median)).join(' | ')} |`,
    `| unsharded Strata's best / this best | ${names.map((n) => ratio(n, best)).join(' | ')} |`,
    `| CPU seconds, all runs | ${names.map((n) => cpu.get(n)!.toFixed(1)).join(' | ')} |`,
    '',
    ...names
      .filter((n) => n.startsWith('strata-sharded-') && whole)
      .map((n) => `${n}'s answer equals the unsharded one (1e-9 relative): ${sameAnswer(answers.get(n)!, whole!)}`),
    `Every run in order (ms): ${names
      .map(
        (n) =>
          `${n}: ${times
            .get(n)!
            .map((x) => x.toFixed(0))
            .join(', ')}`,
      )
      .join('; ')}`,
  ].join('\n');
}
