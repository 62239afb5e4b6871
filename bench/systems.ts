/** The systems a benchmark measures side by side, each started fresh on loopback. */
import fs from 'node:fs';
import path from 'node:path';
import { freePort, startProcess, startStrata, stop, tempDir, waitFor, type Proc } from '../test/harness.js';

export interface System {
  name: string;
  writeUrl: string;
  queryUrl: string;
  pid: number;
  proc: Proc;
  /** Where a Strata keeps its data (undefined for the others). */
  dataDir?: string;
  stop(): Promise<void>;
}

/** `dataDir`: start on data already there (e.g. a copy of a seeded Strata's folder) instead of a fresh one. */
export async function startStrataSystem(extraArgs: string[] = [], dataDir?: string): Promise<System> {
  const s = await startStrata({
    dataDir,
    args: [
      '--limits.ingestion-rate=0',
      '--limits.max-global-series-per-user=0',
      '--receiver.max-inflight-bytes=4GiB',
      ...extraArgs,
      // STRATA_BENCH_ARGS: extra flags for the Strata measured (e.g. --query.yield-interval=2ms).
      ...(process.env.STRATA_BENCH_ARGS ?? '').split(' ').filter(Boolean),
    ],
  });
  return {
    name: 'strata',
    writeUrl: `${s.url}/api/v1/write`,
    queryUrl: s.url,
    pid: s.child.pid!,
    proc: s,
    dataDir: s.dataDir,
    stop: () => stop(s),
  };
}

/** `features`: --enable-feature values (native-histograms for a 2.42 to accept them). */
export async function startPrometheusSystem(features: string[] = []): Promise<System> {
  const port = await freePort();
  const dir = tempDir('bench-prom');
  const cfg = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(cfg, 'global:\n  scrape_interval: 1h\n');
  const p = startProcess('/usr/bin/prometheus', [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
    ...features.map((f) => `--enable-feature=${f}`),
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('prometheus ready', async () => (await fetch(`${url}/-/ready`)).status === 200, 60_000);
  return { name: 'prometheus', writeUrl: `${url}/api/v1/write`, queryUrl: url, pid: p.child.pid!, proc: p, stop: () => stop(p) };
}

export const VICTORIA_METRICS = '/usr/bin/victoria-metrics';

export async function startVictoriaMetricsSystem(): Promise<System> {
  const port = await freePort();
  const dir = tempDir('bench-vm');
  const p = startProcess(VICTORIA_METRICS, [
    `-storageDataPath=${dir}`,
    `-httpListenAddr=127.0.0.1:${port}`,
    '-loggerLevel=ERROR',
    '-search.disableCache',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('victoria-metrics ready', async () => (await fetch(`${url}/health`)).status === 200, 60_000);
  return { name: 'victoria-metrics', writeUrl: `${url}/api/v1/write`, queryUrl: url, pid: p.child.pid!, proc: p, stop: () => stop(p) };
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** Resident memory in bytes, from /proc. */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
