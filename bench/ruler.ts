/**
 * Rule evaluation cost (`npm run bench -- --ruler`): the same recording rules (a mix of
 * `sum by` of rates, error ratios and histogram_quantile, in groups of 100) evaluated over the
 * ingest benchmark's series by `strata all` (its in-process ruler) and by Prometheus 2.42 holding
 * the same data. Measured over --rounds evaluation rounds once both run: CPU seconds per round
 * (whole process: the rules dominate, nothing else is sent meanwhile), and how long the groups'
 * evaluations take (Prometheus' prometheus_rule_group_last_duration_seconds and Strata's
 * strata_ruler_group_last_duration_seconds: their sum is a round's wall time of rule work, their
 * max how late the slowest group's results land), and missed iterations.
 *   --rules N (10000)  --series N (20000)  --interval S (60)  --rounds N (3)  --only strata,prometheus
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { tempDir } from '../test/harness.js';
import { encodeRounds, generateSeries, pushRounds, SCRAPE_INTERVAL_MS } from './load.js';
import { freePort, startProcess, stop, waitFor } from '../test/harness.js';
import { cpuSeconds, startStrataSystem, type System } from './systems.js';

export interface RulerBenchOptions {
  rules: number;
  series: number;
  intervalSeconds: number;
  rounds: number;
  only?: string[];
}

const encode = (series: Labels[], t: number, values: Float64Array): Buffer =>
  snappyEncode(encodeWriteRequestV1(series.map((labels, i) => ({ labels, timestamps: [t], values: [values[i]] }))));

/** A realistic mix, every rule distinct: sum by of rates, ratios, histogram_quantile. */
export function ruleFile(rules: number, intervalSeconds: number): string {
  const lines = ['groups:'];
  for (let i = 0; i < rules; i++) {
    if (i % 100 === 0) lines.push(`  - name: bench-${i / 100}`, `    interval: ${intervalSeconds}s`, '    rules:');
    const job = `job-${i % 10}`;
    const handler = `/api/v${Math.floor(i / 10) % 10}`;
    let expr: string;
    switch (i % 3) {
      case 0:
        expr = `sum by (job, code) (rate(http_requests_total{job="${job}",handler="${handler}"}[5m]))`;
        break;
      case 1:
        expr = `sum by (job) (rate(http_requests_total{job="${job}",handler="${handler}",code="500"}[5m])) / sum by (job) (rate(http_requests_total{job="${job}",handler="${handler}"}[5m]))`;
        break;
      default:
        expr = `histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{job="${job}",handler="${handler}"}[5m])))`;
    }
    lines.push(`      - record: bench:rule_${i}`, `        expr: '${expr}'`);
  }
  return lines.join('\n') + '\n';
}

async function startPrometheusWithRules(rulesFile: string, intervalSeconds: number): Promise<System> {
  const dir = tempDir('bench-ruler-prom');
  const cfg = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(cfg, `global:\n  scrape_interval: 1h\n  evaluation_interval: ${intervalSeconds}s\nrule_files:\n  - ${rulesFile}\n`);
  const port = await freePort();
  const p = startProcess('/usr/bin/prometheus', [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('prometheus ready', async () => (await fetch(`${url}/-/ready`)).status === 200, 60_000);
  return { name: 'prometheus', writeUrl: `${url}/api/v1/write`, queryUrl: url, pid: p.child.pid!, proc: p, stop: () => stop(p) };
}

async function metricValues(url: string, name: string): Promise<number[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: number[] = [];
  for (const line of text.split('\n'))
    if (line.startsWith(name + '{') || line.startsWith(name + ' ')) out.push(Number(line.split(' ').pop()));
  return out;
}

export async function runRulerBench(o: RulerBenchOptions): Promise<string> {
  const dir = tempDir('bench-ruler');
  const rulesFile = path.join(dir, 'rules.yml');
  fs.writeFileSync(rulesFile, ruleFile(o.rules, o.intervalSeconds));
  const series = generateSeries(o.series);
  // 20 minutes of 15 s scrapes ending now: every rate() window is full.
  const scrapes = 80;
  const start = Date.now() - scrapes * SCRAPE_INTERVAL_MS;
  const lines = [
    `# Ruler: ${o.rules} recording rules (groups of 100, ${o.intervalSeconds} s interval) over ${series.length} series; ${o.rounds} rounds measured`,
    '',
    '| system | CPU s per round | sum of group durations s | slowest group s | missed iterations |',
    '|---|---|---|---|---|',
  ];
  for (const name of ['strata', 'prometheus']) {
    if (o.only && !o.only.includes(name)) continue;
    let sys: System;
    if (name === 'strata') sys = await startStrataSystem([`--ruler.rule-files=${rulesFile}`, '--query.lookback-delta=5m']);
    else sys = await startPrometheusWithRules(rulesFile, o.intervalSeconds);
    try {
      for (let r = 0; r < scrapes; r += 20) {
        const pushed = await pushRounds(
          sys.writeUrl,
          encodeRounds(series, Math.min(20, scrapes - r), start + r * SCRAPE_INTERVAL_MS, encode),
          4,
        );
        if (pushed.failures > 0) throw new Error(`${name}: ${pushed.failures} failed pushes`);
      }
      // One round to warm up (and for both to have evaluated every group once), then measure.
      await new Promise((r) => setTimeout(r, o.intervalSeconds * 1000));
      const prefix = name === 'strata' ? 'strata_ruler' : 'prometheus_rule';
      const missed0 = (await metricValues(sys.queryUrl, `${prefix}_group_iterations_missed_total`)).reduce((a, b) => a + b, 0);
      const cpu0 = cpuSeconds(sys.pid);
      let sum = 0;
      let slowest = 0;
      for (let r = 0; r < o.rounds; r++) {
        await new Promise((res) => setTimeout(res, o.intervalSeconds * 1000));
        const d = await metricValues(sys.queryUrl, `${prefix}_group_last_duration_seconds`);
        sum += d.reduce((a, b) => a + b, 0);
        slowest = Math.max(slowest, ...d);
      }
      const cpu = (cpuSeconds(sys.pid) - cpu0) / o.rounds;
      const missed = (await metricValues(sys.queryUrl, `${prefix}_group_iterations_missed_total`)).reduce((a, b) => a + b, 0) - missed0;
      lines.push(`| ${name} | ${cpu.toFixed(2)} | ${(sum / o.rounds).toFixed(2)} | ${slowest.toFixed(3)} | ${missed} |`);
      process.stderr.write(lines[lines.length - 1] + '\n');
    } finally {
      await sys.stop();
    }
  }
  return lines.join('\n');
}
