/**
 * `npm run bench -- --frontend`: the 12-panel dashboard of bench/dashboard.ts over the last 24 h,
 * refreshed every 30 s of (simulated) wall time for `--refreshes` refreshes with the range sliding
 * forward, against Strata (its query frontend and results cache on, the default), Strata with the
 * results cache off (the engine's own speed), Prometheus 2.42 and VictoriaMetrics 1.79 (rollup
 * cache on), all holding the same data. As Grafana does, start and end are rounded down to the
 * panels' step, so two refreshes 30 s apart at a 1m step share a range every other time.
 *   --hours N (24)  --refreshes N (10)  --only strata,strata-uncached,prometheus,victoria-metrics
 */
import path from 'node:path';
import fs from 'node:fs';
import { tempDir } from '../test/harness.js';
import { cpuSeconds, type System } from './systems.js';
import { writeDashboardBlocks, type DashboardData } from './dashboard-data.js';
import { median, refresh, settle, startStrataOn, STARTERS } from './dashboard.js';

const STEP_MS = 60_000;
const REFRESH_EVERY_MS = 30_000;

const FRONTEND_STARTERS: Record<string, (d: DashboardData) => Promise<System>> = {
  strata: (d) => startStrataOn(d),
  'strata-uncached': (d) => startStrataOn(d, ['--query-frontend.results-cache.enabled=false'], 'strata-uncached'),
  prometheus: STARTERS.prometheus,
  'victoria-metrics': STARTERS['victoria-metrics'],
};

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)];
}

export async function runFrontendBench(opts: { hours: number; refreshes: number; only?: string[] }): Promise<string> {
  const root = tempDir('bench-frontend');
  const data = await writeDashboardBlocks(path.join(root, 'blocks'), opts.hours, Date.now() - 60_000, { tenant_id: 'anonymous' });
  const systems: System[] = [];
  const times = new Map<string, number[]>();
  const cpu = new Map<string, number>();
  const warmCpu = new Map<string, number>();
  try {
    for (const name of opts.only ?? Object.keys(FRONTEND_STARTERS)) systems.push(await FRONTEND_STARTERS[name](data));
    await settle(systems);
    const cpu0 = systems.map((s) => cpuSeconds(s.pid));
    // CPU after the cold refresh, so the warm refreshes' own CPU is told apart from filling the cache.
    let cpu1 = cpu0;
    for (let k = 0; k < opts.refreshes; k++) {
      // The dashboard's "now" moves 30 s per refresh; the range is the 24 h before it, on the step grid.
      const now = data.end + k * REFRESH_EVERY_MS;
      const end = Math.floor(now / STEP_MS) * STEP_MS;
      const start = end - 24 * 3_600_000;
      // Interleaved, so load drifting on a shared machine hits every system alike.
      for (const s of systems) {
        const r = await refresh(s.queryUrl, start, end);
        times.set(s.name, [...(times.get(s.name) ?? []), r.ms]);
      }
      if (k === 0) cpu1 = systems.map((s) => cpuSeconds(s.pid));
    }
    systems.forEach((s, i) => {
      const now = cpuSeconds(s.pid);
      cpu.set(s.name, now - cpu0[i]);
      warmCpu.set(s.name, now - cpu1[i]);
    });
  } finally {
    for (const s of systems) await s.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
  const cell = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
  const names = systems.map((s) => s.name);
  const row = (label: string, f: (xs: number[]) => number) => `| ${label} | ${names.map((n) => cell(f(times.get(n)!))).join(' | ')} |`;
  return [
    `## Dashboard refreshes through the query frontend: ${data.series.length} series, ${opts.hours} h, 12 panels at a 1m step, ${opts.refreshes} refreshes 30 s apart`,
    '',
    `| | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---|').join('')}`,
    row('cold (first) refresh', (xs) => xs[0]),
    row('warm refreshes, median', (xs) => median(xs.slice(1))),
    row('warm refreshes, p99', (xs) => p99(xs.slice(1))),
    `| CPU seconds, all refreshes | ${names.map((n) => cpu.get(n)!.toFixed(1)).join(' | ')} |`,
    `| CPU ms per warm refresh | ${names.map((n) => ((warmCpu.get(n)! * 1000) / Math.max(1, opts.refreshes - 1)).toFixed(0)).join(' | ')} |`,
    '',
    `Every refresh in order (ms): ${names
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
