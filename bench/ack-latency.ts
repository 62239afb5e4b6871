/**
 * Remote-write acknowledgement latency while expensive queries run (`npm run bench -- --ack-latency`).
 *
 * Node runs JavaScript on one thread, so a query that holds it delays every acknowledgement. The
 * same data goes into Strata and Prometheus; once the process has settled (see settled()), a
 * paced sender (one 100-sample request every 20 ms, like a small Prometheus shard) measures its
 * acknowledgement latency for a while alone and then while two clients loop `count({__name__=~".+"})` and a range `sum by (job) (rate(...))`
 * over all the data. Reported: p50/p99/max of both phases, the loaded/unloaded p99 ratio, and for
 * each query loop apart the queries completed meanwhile and their median time. Strata runs four
 * times in the same run, so they compare on equal footing: on its worker threads at the default
 * niceness (reading the local blocks' files themselves, through the shared block cache), on
 * workers at niceness 0, on workers that get the blocks' chunks copied by the main thread instead
 * (--querier.workers-read-blocks=false), and on the main thread (--querier.workers=0).
 *
 * The query frontend's results cache is off for every Strata measured: it would answer the range
 * loop from memory after its first run, and the figure would count cache hits, not evaluations.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { encodeRounds, generateSeries, percentile, post, pushRounds, SCRAPE_INTERVAL_MS } from './load.js';
import { REPO, tempDir } from '../test/harness.js';
import { startPrometheusSystem, startStrataSystem, type System } from './systems.js';

export interface AckLatencyOptions {
  series: number;
  /** Hours of scrapes pushed before measuring; the range loop queries all of them. */
  hours: number;
  /**
   * Seconds between scrapes (default 15). A 24 h range over 100k series at 15 s is 576M samples,
   * more than a query may load (--query.max-samples) and than this machine holds decoded; a
   * sparser scrape keeps the shape (every series, the whole day) at a size that runs.
   */
  scrapeSeconds?: number;
  /** Seconds each phase lasts. */
  seconds: number;
  only?: string[];
  /** Also record the main thread's stalls (bench/main-thread-stalls.mjs) and tabulate them per phase. */
  stalls?: boolean;
}

interface LoopResult {
  done: number;
  failed: number;
  medianMs: number;
}

interface PhaseResult {
  p50: number;
  p99: number;
  max: number;
  acks: number;
  failures: number;
  /** Per query loop, in the order of QUERY_LOOPS (empty when idle). */
  loops: LoopResult[];
  /** CPU seconds the system's process used during the phase (Linux; NaN elsewhere). */
  cpuSeconds: number;
  /** Wall-clock bounds of the phase (epoch ms), to pick its main-thread stalls. */
  from: number;
  to: number;
}

/** The main-thread stalls recorded in `file` that ended within [from, to]: their lengths and the thread's CPU time in each (ms). */
function stallsWithin(file: string, from: number, to: number): { wall: Float64Array; cpu: Float64Array } {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const wall: number[] = [];
  const cpu: number[] = [];
  for (const line of text.split('\n')) {
    const [end, ms, onCpu] = line.split(' ').map(Number);
    if (!(end >= from && end <= to)) continue;
    wall.push(ms);
    cpu.push(onCpu);
  }
  return { wall: Float64Array.from(wall), cpu: Float64Array.from(cpu) };
}

/** User plus system CPU seconds of a process so far, all its threads (Linux /proc; NaN elsewhere). */
export function cpuSecondsOf(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * One row of the stall table: spans of 5, 10, 20 and 50 ms or more, their p99 and max, the share
 * of the phase held; then the same thresholds for the main thread's own CPU time within a span.
 */
function stallRow(name: string, phaseName: string, s: { wall: Float64Array; cpu: Float64Array }, seconds: number): string {
  const atLeast = (xs: Float64Array, ms: number) => xs.filter((x) => x >= ms).length;
  const max = (xs: Float64Array) => (xs.length ? Math.max(...xs) : 0).toFixed(1);
  const held = s.wall.reduce((a, b) => a + b, 0) / (seconds * 1000);
  const p99 = s.wall.length ? percentile(s.wall, 99) : 0;
  const wall = [5, 10, 20, 50].map((ms) => atLeast(s.wall, ms));
  const cpu = [5, 10, 20].map((ms) => atLeast(s.cpu, ms));
  return `| ${name} | ${phaseName} | ${wall.join(' | ')} | ${p99.toFixed(1)} | ${max(s.wall)} | ${(held * 100).toFixed(1)}% | ${cpu.join(' | ')} | ${max(s.cpu)} |`;
}

/**
 * The two loops running beside the writes: every series counted, and a range rate summed by job
 * (its window 5m, or four scrapes when they are sparser, so that each window holds samples to rate).
 */
export function queryLoops(scrapeMs: number = SCRAPE_INTERVAL_MS): string[] {
  const window = Math.max(5 * 60, (4 * scrapeMs) / 1000);
  const w = window % 60 === 0 ? `${window / 60}m` : `${window}s`;
  return ['count({__name__=~".+"})', `sum by (job) (rate(http_requests_total[${w}]))`];
}

export const QUERY_LOOPS = queryLoops();

const encode = (series: Labels[], t: number, values: Float64Array): Buffer =>
  snappyEncode(encodeWriteRequestV1(series.map((labels, i) => ({ labels, timestamps: [t], values: [values[i]] }))));

/** The query loops' request paths: the instant query at the end, the range one over everything. */
function queryPaths(start: number, end: number, queries: string[]): [string, string] {
  return [
    `/api/v1/query?query=${encodeURIComponent(queries[0])}&time=${end / 1000}`,
    `/api/v1/query_range?query=${encodeURIComponent(queries[1])}&start=${start / 1000}&end=${end / 1000}&step=60`,
  ];
}

async function phase(
  sys: System,
  seconds: number,
  start: number,
  end: number,
  loaded: boolean,
  queries: string[] = QUERY_LOOPS,
): Promise<PhaseResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const probe = Array.from({ length: 100 }, (_, i) =>
    Labels.fromObject({ __name__: 'ack_probe', i: String(i), phase: loaded ? 'loaded' : 'idle' }),
  );
  const lat: number[] = [];
  let failures = 0;
  let stop = false;
  const paths = queryPaths(start, end, queries);
  const loops = (loaded ? paths : []).map(async (path): Promise<LoopResult> => {
    const times: number[] = [];
    let failed = 0;
    while (!stop) {
      const t0 = performance.now();
      const r = await fetch(`${sys.queryUrl}${path}`);
      await r.arrayBuffer();
      if (r.status === 200) times.push(performance.now() - t0);
      else {
        // A refused query must not turn the loop into a busy spin of fast errors.
        failed++;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    return { done: times.length, failed, medianMs: percentile(Float64Array.from(times), 50) };
  });
  const cpu0 = cpuSecondsOf(sys.pid);
  const from = Date.now();
  const deadline = performance.now() + seconds * 1000;
  let t = Date.now();
  while (performance.now() < deadline) {
    const body = encode(probe, t++, new Float64Array(probe.length).fill(1));
    const t0 = performance.now();
    const status = await post(sys.writeUrl, body, agent);
    lat.push(performance.now() - t0);
    if (status < 200 || status >= 300) failures++;
    const wait = 20 - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  stop = true;
  const to = Date.now();
  const loopResults = await Promise.all(loops);
  agent.destroy();
  const xs = Float64Array.from(lat);
  return {
    p50: percentile(xs, 50),
    p99: percentile(xs, 99),
    max: Math.max(...lat),
    acks: lat.length,
    failures,
    loops: loopResults,
    cpuSeconds: cpuSecondsOf(sys.pid) - cpu0,
    from,
    to,
  };
}

/**
 * Waits until the system's process has stayed nearly idle for a few seconds (under a tenth of a
 * core), at most `maxMs`: a Strata restored from the seeded history first cuts it into blocks and
 * compacts them, and that background work would otherwise fall into the idle phase and inflate
 * the baseline every ratio is taken against. Returns the seconds waited.
 */
async function settled(pid: number, maxMs = 240_000): Promise<number> {
  const t0 = performance.now();
  let prev = cpuSecondsOf(pid);
  while (performance.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, 3000));
    const now = cpuSecondsOf(pid);
    if (!(now - prev >= 0.3)) break;
    prev = now;
  }
  return (performance.now() - t0) / 1000;
}

/** Starts a system with the stall recorder preloaded when `file` is given (only the measured process, not the seeder). */
async function withStallRecorder<T>(file: string | undefined, start: () => Promise<T>): Promise<T> {
  if (!file) return start();
  const saved = { flags: process.env.STRATA_NODE_FLAGS, file: process.env.STRATA_STALL_FILE };
  process.env.STRATA_NODE_FLAGS = `${saved.flags ?? ''} --import=${path.join(REPO, 'bench', 'main-thread-stalls.mjs')}`;
  process.env.STRATA_STALL_FILE = file;
  try {
    return await start();
  } finally {
    if (saved.flags === undefined) delete process.env.STRATA_NODE_FLAGS;
    else process.env.STRATA_NODE_FLAGS = saved.flags;
    if (saved.file === undefined) delete process.env.STRATA_STALL_FILE;
    else process.env.STRATA_STALL_FILE = saved.file;
  }
}

/**
 * Runs each query loop's query once before measuring, the range one twice at once (so that with
 * two query workers each gets one): what a system does once per process (JIT, opening each block's
 * index on a worker, loading block files into the cache) stays out of the loaded phase, whose
 * few queries it would otherwise dominate, and unevenly so: the main thread opens the blocks'
 * indexes at start, query workers on their first select.
 */
async function warmUp(sys: System, start: number, end: number, queries: string[]): Promise<void> {
  const [instant, range] = queryPaths(start, end, queries);
  await Promise.all([range, range].map((p) => fetch(`${sys.queryUrl}${p}`).then((r) => r.text())));
  await (await fetch(`${sys.queryUrl}${instant}`)).text();
}

/**
 * Waits for the seeding Strata to cut its head into local blocks (the blocks of `hours` of
 * history, pushed in a burst, first sit in the head): else each measured copy would cut them at
 * its first compaction check, in the middle of a phase, and read the head instead of blocks before.
 * Done when the blocks found stay the same for a few seconds; the number of blocks.
 */
async function blocksCut(dataDir: string, hours: number, maxMs = 600_000): Promise<number> {
  const tenants = path.join(dataDir, 'tsdb', 'tenants');
  const count = () =>
    fs
      .readdirSync(tenants)
      .flatMap((t) =>
        fs.existsSync(path.join(tenants, t, 'blocks'))
          ? fs.readdirSync(path.join(tenants, t, 'blocks')).map((b) => path.join(tenants, t, 'blocks', b))
          : [],
      )
      .filter((b) => fs.existsSync(path.join(b, 'meta.json'))).length;
  // A head spanning less than 1.5 block ranges (2 h) is not cut.
  if (hours < 3) return count();
  const t0 = performance.now();
  let last = -1;
  let same = 0;
  while (performance.now() - t0 < maxMs) {
    const n = count();
    same = n > 0 && n === last ? same + 1 : 0;
    if (same >= 5) return n;
    last = n;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`the seeding Strata cut no stable set of blocks within ${maxMs / 1000} s`);
}

export async function runAckLatencyBench(o: AckLatencyOptions): Promise<string> {
  const series = generateSeries(o.series);
  const scrapeMs = (o.scrapeSeconds ?? SCRAPE_INTERVAL_MS / 1000) * 1000;
  const queries = queryLoops(scrapeMs);
  const rounds = Math.max(2, Math.round((o.hours * 3_600_000) / scrapeMs));
  const start = Date.now() - rounds * scrapeMs;
  const end = start + (rounds - 1) * scrapeMs;
  const lines = [
    `# Ack latency under query load: ${series.length} series, ${o.hours} h of ${scrapeMs / 1000} s scrapes; one 100-sample write every 20 ms for ${o.seconds} s alone, then ${o.seconds} s beside two query loops`,
    '',
    `Query loops: A = \`${queries[0]}\` (instant), B = \`${queries[1]}\` (range over all ${o.hours} h, step 60 s); each loop's queries done (median ms); query CPU-s per query: the Strata process's CPU while loaded less while idle, per query done (the machine's load does not inflate it); the results cache is off.`,
    '',
    '| system | idle p50 ms | idle p99 ms | loaded p50 ms | loaded p99 ms | loaded max ms | loaded/idle p99 | A done (median ms) | B done (median ms) | query CPU-s per query | failed acks / queries |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  // No results cache: the range loop would be answered from memory after its first run.
  const noCache = '--query-frontend.results-cache.enabled=false';
  // --only takes a system's first word (strata, prometheus) or its key, to run one variant alone
  // (e.g. to profile it with STRATA_NODE_FLAGS=--cpu-prof).
  const systems: [string, string, (dataDir?: string) => Promise<System>][] = [
    ['strata (workers, nice 10)', 'workers', (d) => startStrataSystem([noCache], d)],
    ['strata --querier.worker-nice=0', 'nice0', (d) => startStrataSystem([noCache, '--querier.worker-nice=0'], d)],
    ['strata --querier.workers-read-blocks=false', 'packed', (d) => startStrataSystem([noCache, '--querier.workers-read-blocks=false'], d)],
    ['strata --querier.workers=0', 'main', (d) => startStrataSystem([noCache, '--querier.workers=0'], d)],
    ['prometheus', 'prometheus', () => startPrometheusSystem()],
  ];
  const push = async (sys: System, name: string) => {
    // Encoded one chunk of rounds at a time so memory stays bounded for long histories.
    for (let r = 0; r < rounds; r += 40) {
      const pushed = await pushRounds(
        sys.writeUrl,
        encodeRounds(series, Math.min(40, rounds - r), start + r * scrapeMs, encode, scrapeMs),
        4,
      );
      if (pushed.failures > 0) throw new Error(`${name}: ${pushed.failures} failed pushes`);
    }
    process.stderr.write(`${name}: ${rounds} scrapes pushed\n`);
  };
  // The Strata variants start on copies of one seeded data folder (their head restored from its
  // snapshot): pushing the history once instead of per variant saves minutes on a loaded machine,
  // and every variant reads the very same data.
  let seed: string | undefined;
  const stallLines: string[] = [];
  for (const [name, key, launch] of systems) {
    if (o.only && !o.only.includes(name.split(' ')[0]) && !o.only.includes(key)) continue;
    let dataDir: string | undefined;
    if (name.startsWith('strata')) {
      if (!seed) {
        const seeder = await startStrataSystem(['--tsdb.compaction-interval=1s']);
        try {
          await push(seeder, 'strata seed');
          process.stderr.write(`strata seed: ${await blocksCut(seeder.dataDir!, o.hours)} local blocks cut\n`);
        } finally {
          await seeder.stop();
        }
        seed = seeder.dataDir!;
      }
      dataDir = tempDir('bench-ack');
      fs.cpSync(seed, dataDir, { recursive: true });
    }
    const stallFile = o.stalls ? path.join(tempDir('bench-stalls'), 'stalls.txt') : undefined;
    const sys = await withStallRecorder(stallFile, () => launch(dataDir));
    try {
      if (!dataDir) await push(sys, name);
      process.stderr.write(`${name}: settled after ${(await settled(sys.pid)).toFixed(0)} s; warming up\n`);
      await warmUp(sys, start, end, queries);
      process.stderr.write(`${name}: measuring\n`);
      const idle = await phase(sys, o.seconds, start, end, false, queries);
      const loaded = await phase(sys, o.seconds, start, end, true, queries);
      const loop = (l: LoopResult) => `${l.done} (${l.medianMs.toFixed(0)})`;
      // What the queries cost the process, with the machine's load taken out: CPU of the loaded
      // phase less that of the idle one (the acknowledgements), per query completed.
      const done = loaded.loops.reduce((n, l) => n + l.done, 0);
      const perQuery = (loaded.cpuSeconds - idle.cpuSeconds) / done;
      const failedQueries = loaded.loops.reduce((n, l) => n + l.failed, 0);
      lines.push(
        `| ${name} | ${idle.p50.toFixed(1)} | ${idle.p99.toFixed(1)} | ${loaded.p50.toFixed(1)} | ${loaded.p99.toFixed(1)} | ${loaded.max.toFixed(0)} | **${(loaded.p99 / idle.p99).toFixed(2)}x** | ${loop(loaded.loops[0])} | ${loop(loaded.loops[1])} | ${perQuery.toFixed(2)} | ${idle.failures + loaded.failures} / ${failedQueries} |`,
      );
      process.stderr.write(lines[lines.length - 1] + '\n');
      if (stallFile) {
        for (const [phaseName, p] of [
          ['idle', idle],
          ['loaded', loaded],
        ] as const)
          stallLines.push(stallRow(name, phaseName, stallsWithin(stallFile, p.from, p.to), o.seconds));
        process.stderr.write(stallLines.slice(-2).join('\n') + '\n');
      }
      // STRATA_BENCH_DUMP=1: the system's own output (e.g. --trace-gc through STRATA_NODE_FLAGS).
      if (process.env.STRATA_BENCH_DUMP) process.stderr.write(sys.proc.output().slice(-200_000) + '\n');
    } finally {
      await sys.stop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
      // Kept with STRATA_BENCH_DUMP, to line the stalls up with a CPU profile of the same run.
      if (stallFile && process.env.STRATA_BENCH_DUMP) process.stderr.write(`main-thread stalls: ${stallFile}\n`);
      else if (stallFile) fs.rmSync(path.dirname(stallFile), { recursive: true, force: true });
    }
  }
  if (seed) fs.rmSync(seed, { recursive: true, force: true });
  if (o.stalls)
    lines.push(
      '',
      "Main-thread stalls (the event loop held for 2 ms or more, measured inside the process by a 1 ms timer's lateness): spans of at least 5/10/20/50 ms, p99 and max span, share of the phase held; a loaded machine stretches spans while the thread waits for a core, so the last columns count spans by the main thread's own CPU time in them (Linux schedstat).",
      '',
      '| system | phase | >=5 ms | >=10 ms | >=20 ms | >=50 ms | p99 ms | max ms | held | CPU >=5 ms | CPU >=10 ms | CPU >=20 ms | CPU max ms |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...stallLines,
    );
  return lines.join('\n');
}
