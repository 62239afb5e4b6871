/**
 * `npm run bench -- --logs-tail`: what live tails cost `strata all`. Lines are pushed at a steady
 * --tail-rate (2000 lines/s, over 100 streams, one request every 100 ms) for --seconds (20) three
 * times: with no tail open, with --tails (10) tails of `{job="tail-bench"}`, and with as many of
 * `{job="tail-bench"} | logfmt | level="error"` (a parser: every entry of each window is read and
 * parsed). Reports the Strata process's CPU-seconds per second of each phase, its ratio to the
 * phase without tails and the CPU a tail adds per pushed line, and checks that every tail received
 * every line it should (each once).
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { startStrata, stop } from '../test/harness.js';
import { cpuSecondsOf } from './ack-latency.js';

const STREAMS = 100;
const LEVELS = ['info', 'info', 'info', 'warn', 'error'];

interface Tail {
  ws: WebSocket;
  lines: number;
  opened: Promise<void>;
}

function openTail(url: string, query: string): Tail {
  // From now on: no historic entries, only what is pushed while the tail is open.
  const start = String(BigInt(Date.now()) * 1_000_000n);
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query, start })}`);
  const t: Tail = { ws, lines: 0, opened: Promise.resolve() };
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString('utf8')) as { streams?: { values: unknown[] }[] };
    for (const s of m.streams ?? []) t.lines += s.values.length;
  });
  t.opened = new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_r, res: IncomingMessage) => reject(new Error(`tail refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  return t;
}

/** Pushes `rate` lines/s for `seconds`, one request every 100 ms; returns the lines pushed and those at level=error. */
async function pushFor(url: string, rate: number, seconds: number, seq: { n: number }): Promise<{ lines: number; errors: number }> {
  const perRequest = Math.max(1, Math.round(rate / 10));
  const started = performance.now();
  let lines = 0;
  let errors = 0;
  for (let tick = 0; performance.now() - started < seconds * 1000; tick++) {
    const t = BigInt(Date.now()) * 1_000_000n;
    const byStream = new Map<number, [string, string][]>();
    for (let i = 0; i < perRequest; i++) {
      const n = seq.n++;
      const level = LEVELS[n % LEVELS.length];
      if (level === 'error') errors++;
      const s = n % STREAMS;
      const list = byStream.get(s) ?? [];
      list.push([
        String(t + BigInt(i)),
        `ts=${Date.now()} level=${level} msg="request ${n} done" path=/api/v${s % 3}/items/${n} status=200 took=${n % 97}ms`,
      ]);
      byStream.set(s, list);
    }
    const body = JSON.stringify({
      streams: [...byStream].map(([s, values]) => ({ stream: { job: 'tail-bench', pod: `pod-${s}` }, values })),
    });
    const r = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (r.status !== 204) throw new Error(`push answered ${r.status}: ${await r.text()}`);
    lines += perRequest;
    const wait = started + (tick + 1) * 100 - performance.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
  }
  return { lines, errors };
}

export async function runLogsTailBench(o: { tails: number; rate: number; seconds: number }): Promise<void> {
  const strata = await startStrata({ args: ['--compactor.enabled=false'] });
  const seq = { n: 0 };
  try {
    // Warm-up: the first requests compile the push and query paths.
    await pushFor(strata.url, o.rate, 2, seq);
    const phase = async (query: string | undefined) => {
      const tails = query ? Array.from({ length: o.tails }, () => openTail(strata.url, query)) : [];
      await Promise.all(tails.map((t) => t.opened));
      const cpu0 = cpuSecondsOf(strata.child.pid!);
      const t0 = performance.now();
      const pushed = await pushFor(strata.url, o.rate, o.seconds, seq);
      const cpu = cpuSecondsOf(strata.child.pid!) - cpu0;
      const secs = (performance.now() - t0) / 1000;
      // The last lines are sent at the next poll.
      await new Promise((res) => setTimeout(res, 3000));
      for (const t of tails) t.ws.close();
      return { cpuPerSecond: cpu / secs, pushed, received: tails.map((t) => t.lines) };
    };
    const none = await phase(undefined);
    const plain = await phase('{job="tail-bench"}');
    const parsed = await phase('{job="tail-bench"} | logfmt | level="error"');
    const row = (name: string, p: typeof none, want: number) =>
      console.log(
        `${name.padEnd(44)} ${p.cpuPerSecond.toFixed(3).padStart(8)} CPU-s/s  ${(p.cpuPerSecond / none.cpuPerSecond).toFixed(2).padStart(5)}x` +
          (p.received.length
            ? `  +${(((p.cpuPerSecond - none.cpuPerSecond) / o.tails / o.rate) * 1e6).toFixed(1)} µs per pushed line per tail` +
              `  lines per tail ${Math.min(...p.received)}..${Math.max(...p.received)} of ${want}`
            : ''),
      );
    console.log(`\nlive tails in strata all: ${o.rate} lines/s over ${STREAMS} streams for ${o.seconds} s per phase, ${o.tails} tails`);
    row('no tail', none, 0);
    row(`${o.tails} x {job="tail-bench"}`, plain, plain.pushed.lines);
    row(`${o.tails} x ... | logfmt | level="error"`, parsed, parsed.pushed.errors);
    const ok = plain.received.every((n) => n === plain.pushed.lines) && parsed.received.every((n) => n === parsed.pushed.errors);
    console.log(ok ? 'every tail received every line once' : 'SOME TAILS MISSED OR REPEATED LINES');
  } finally {
    await stop(strata);
  }
}
