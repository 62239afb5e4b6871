/** Starting real processes for end-to-end tests: Strata and Prometheus, on loopback ports. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { encodeWriteRequestV1, snappyEncode, type SeriesToWrite } from '@strata/remote';

/** The repository root: the nearest folder up from the working directory whose package is "strata". */
function findRepo(from: string): string {
  for (let d = from; ; d = path.dirname(d)) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')).name === 'strata') return d;
    } catch {
      // not here
    }
    if (path.dirname(d) === d) throw new Error(`not inside the strata repository: ${from}`);
  }
}

// Works both under jest (CommonJS) and tsx (ES modules), where __dirname does not exist.
export const REPO = findRepo(process.cwd());
export const STRATA_BIN = path.join(REPO, 'packages/cli/bin/strata.js');

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `strata-${prefix}-`));
}

/**
 * Ports are handed out from a range of this process' own, below the kernel's ephemeral range
 * (32768 and up, where listen(0) and outgoing connections take theirs): each jest worker has its
 * range (JEST_WORKER_ID 1-11; anything else, a benchmark, takes the first) and takes its ports in
 * turn. A port found with listen(0) and released at once could be bound by another worker's
 * server before ours started: ours then failed to bind and exited, its readiness check passed
 * against the other server, and the test failed later, ECONNREFUSED everywhere, once that one
 * stopped.
 */
const PORT_BASE = 20_000;
const PORTS_PER_WORKER = 1_000;
const portSlot = (() => {
  const w = Number(process.env.JEST_WORKER_ID);
  return Number.isInteger(w) && w >= 1 && w <= 11 ? w : 0;
})();
let portTurn = 0;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A loopback port free now that no other test process will be handed. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORTS_PER_WORKER; tries++) {
    const port = PORT_BASE + portSlot * PORTS_PER_WORKER + (portTurn++ % PORTS_PER_WORKER);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${PORT_BASE + portSlot * PORTS_PER_WORKER}-${PORT_BASE + (portSlot + 1) * PORTS_PER_WORKER - 1}`);
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  /** Standard output alone (a command's answer, without warnings that libraries print on stderr). */
  stdout: () => string;
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startProcess(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stdout = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', (d: Buffer) => {
    keep(d);
    stdout += d.toString();
    if (stdout.length > 200_000) stdout = stdout.slice(-100_000);
  });
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, stdout: () => stdout, exited };
}

export interface Strata extends Proc {
  url: string;
  port: number;
  dataDir: string;
}

/** The secret test receivers in a ring share to sign forwarded writes (Strata requires one). */
export const TEST_FORWARD_SECRET = 'strata-test-forward-secret-0123456789';

function forwardSecretFor(args: readonly string[]): string[] {
  // Either name of each option: its own (receiver.) or the Thanos alias (receive.).
  const inRing = args.some((a) => /^--receiver?\.hashrings-file/.test(a));
  const given = args.some((a) => /^--receiver?\.forward-secret/.test(a));
  return inRing && !given ? [`--receiver.forward-secret=${TEST_FORWARD_SECRET}`] : [];
}

export async function startStrata(opts: { dataDir?: string; port?: number; args?: string[]; component?: string } = {}): Promise<Strata> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? tempDir('data');
  // STRATA_NODE_FLAGS: extra node flags for Strata processes (e.g. --cpu-prof when profiling a benchmark).
  const nodeFlags = (process.env.STRATA_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const p = startProcess(process.execPath, [
    ...nodeFlags,
    STRATA_BIN,
    opts.component ?? 'all',
    `--http.address=127.0.0.1:${port}`,
    `--storage.path=${dataDir}`,
    '--log.level=warn',
    ...(opts.args ?? []),
    ...forwardSecretFor(opts.args ?? []),
  ]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      'strata ready',
      async () => {
        if (p.child.exitCode !== null) throw new Error(`strata exited: ${p.output()}`);
        const r = await fetch(`${url}/-/ready`);
        return r.status === 200;
      },
      60_000,
    );
  } catch (e) {
    p.child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n--- strata output ---\n${p.output()}`, { cause: e });
  }
  return { ...p, url, port, dataDir };
}

export async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  // A graceful stop that hangs is a failure of its own: say so, or a later assertion on what
  // the shutdown should have written fails with no hint why.
  const t = setTimeout(() => {
    process.stderr.write(
      `process ${p.child.pid} did not exit within 20 s of ${signal}; killing it\n--- its output ---\n${p.output().slice(-4000)}\n`,
    );
    p.child.kill('SIGKILL');
  }, 20_000);
  await p.exited;
  clearTimeout(t);
}

export async function getJson(url: string, headers?: Record<string, string>): Promise<any> {
  const r = await fetch(url, { headers });
  const body = await r.text();
  try {
    return { status: r.status, ...JSON.parse(body) };
  } catch {
    throw new Error(`GET ${url}: ${r.status} ${body.slice(0, 500)}`);
  }
}

/** Sends series as one snappy remote-write 1.0 request; the answer's status. */
export async function pushV1(url: string, series: SeriesToWrite[]): Promise<number> {
  const r = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    body: snappyEncode(encodeWriteRequestV1(series)),
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
  });
  await r.arrayBuffer();
  return r.status;
}

/** Blocks whose upload is done in a tenant's folder of a local-folder bucket: folders holding meta.json. */
export function shippedBlocks(tenantDir: string): number {
  if (!fs.existsSync(tenantDir)) return 0;
  return fs.readdirSync(tenantDir).filter((d) => fs.existsSync(path.join(tenantDir, d, 'meta.json'))).length;
}

/** Waits until a tenant's folder of a local-folder bucket holds at least n shipped blocks. */
export function waitForShippedBlocks(tenantDir: string, n: number, timeoutMs = 60_000): Promise<true> {
  return waitFor('blocks shipped', async () => shippedBlocks(tenantDir) >= n || undefined, timeoutMs);
}

/**
 * Blocks made by the real `promtool tsdb create-blocks-from openmetrics` from an OpenMetrics body
 * (without `# EOF`), copied into a tenant's folder of a local-folder bucket with meta.json last, as
 * an upload does (a folder without it is an upload in progress). The number of blocks copied.
 */
export function promtoolBlocksInto(tenantDir: string, openMetrics: string): number {
  const dir = tempDir('promtool-blocks');
  const om = path.join(dir, 'data.om');
  fs.writeFileSync(om, `${openMetrics.trimEnd()}\n# EOF\n`);
  const out = path.join(dir, 'blocks');
  execFileSync('/usr/bin/promtool', ['tsdb', 'create-blocks-from', 'openmetrics', om, out], { encoding: 'utf8' });
  const blocks = fs.readdirSync(out).filter((d) => fs.existsSync(path.join(out, d, 'meta.json')));
  for (const ulid of blocks) {
    const to = path.join(tenantDir, ulid);
    fs.cpSync(path.join(out, ulid), to, { recursive: true, filter: (src) => path.basename(src) !== 'meta.json' });
    fs.copyFileSync(path.join(out, ulid, 'meta.json'), path.join(to, 'meta.json'));
  }
  return blocks.length;
}
