/**
 * `npm run fuzz -- [--seconds N] [--seed S] [--jobs J] [--save-corpus] [--targets MODULE] [target ...]`: coverage-guided
 * fuzzing of Strata's decoders, each target for N seconds (default 10) in a worker thread watched for hangs
 * and memory blow-ups, J targets at a time (default 1; at most one per core, so that each target runs
 * as many inputs as it would alone). Prints one line per target, in target order, and a closing "N passed, N failed"; exits 1
 * on any finding, with each finding's input in hex so it can become a regression test.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Finding, FuzzTarget } from './target.js';
import type { WorkerData, WorkerMessage } from './worker.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const seconds = Number(opt('seconds') ?? 10);
const seed = Number(opt('seed') ?? Date.now() % 1_000_000);
const jobs = Math.max(1, Math.floor(Number(opt('jobs') ?? 1)));
const targetsModule = opt('targets') ?? 'test/fuzz/targets.ts';
const { TARGETS } = (await import(pathToFileURL(path.join(root, targetsModule)).href)) as { TARGETS: FuzzTarget[] };
const save = args.includes('--save-corpus') ? (args.splice(args.indexOf('--save-corpus'), 1), true) : false;
const chosen = args.length > 0 ? TARGETS.filter((t) => args.includes(t.name)) : TARGETS;
if (chosen.length === 0 || chosen.length < args.length) {
  process.stderr.write(`unknown target among ${args.join(', ')}; targets: ${TARGETS.map((t) => t.name).join(', ')}\n`);
  process.exit(2);
}

function fuzzOne(t: FuzzTarget): Promise<{ findings: Finding[]; summary: string }> {
  const shared = new SharedArrayBuffer(8 + (t.maxInputBytes ?? 64 << 10));
  const counters = new Int32Array(shared, 0, 2);
  const findings: Finding[] = [];
  let saved = 0;
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
      workerData: { target: t.name, seconds, seed, root, shared, targets: targetsModule } satisfies WorkerData,
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    });
    const currentInput = () => Buffer.from(new Uint8Array(shared, 8, Math.min(counters[1], shared.byteLength - 8)));
    let last = 0;
    let since = Date.now();
    const hangMs = (t.timeoutMs ?? 2000) * 2 + 1000;
    // Until its first input the worker is loading tsx and the target's modules: seconds on a busy
    // machine, which is no hang of the target (the 300 ms planted hang was reported on no input).
    const bootMs = 60_000;
    const watchdog = setInterval(() => {
      const n = Atomics.load(counters, 0);
      if (n !== last) {
        last = n;
        since = Date.now();
      } else if (Date.now() - since > (n === 0 ? bootMs : hangMs)) {
        const message = n === 0 ? `no input run within ${bootMs} ms of the worker's start` : `no progress for ${hangMs} ms on one input`;
        findings.push({ kind: 'hang', message, input: currentInput() });
        // One report: a busy machine can take more than a tick to stop the worker.
        clearInterval(watchdog);
        void worker.terminate();
      }
    }, 100);
    let summary = 'did not finish';
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'finding') findings.push({ ...m.finding, input: Buffer.from(m.finding.input) });
      else if (m.type === 'interesting' && save) {
        const input = Buffer.from(m.input);
        if (input.length <= 4096) {
          const dir = path.join(root, t.corpus);
          fs.mkdirSync(dir, { recursive: true });
          fs.writeFileSync(path.join(dir, crypto.createHash('sha1').update(input).digest('hex').slice(0, 16)), input);
          saved++;
        }
      } else if (m.type === 'done') {
        summary = `${m.runs} runs, ${m.blocks} blocks covered, corpus ${m.seeds} seeds -> ${m.corpus}${save ? ` (${saved} saved)` : ''}`;
      }
    });
    worker.on('error', (e) => {
      const oom = (e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
      findings.push({ kind: oom ? 'out-of-memory' : 'unexpected-error', message: `worker died: ${e.message}`, input: currentInput() });
    });
    worker.on('exit', () => {
      clearInterval(watchdog);
      resolve({ findings, summary });
    });
  });
}

/** fn over every item, at most `limit` at once, started in item order; the answers in item order. */
function inTurn<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R>[] {
  let free = limit;
  const queued: (() => void)[] = [];
  const release = () => {
    const nextInLine = queued.shift();
    if (nextInLine) nextInLine();
    else free++;
  };
  return items.map(async (item) => {
    if (free > 0) free--;
    else await new Promise<void>((r) => queued.push(r));
    try {
      return await fn(item);
    } finally {
      release();
    }
  });
}

let passed = 0;
let failed = 0;
process.stdout.write(`fuzzing ${chosen.length} targets, ${seconds} s each, ${jobs} at a time, seed ${seed}\n`);
// Printed in target order whatever finished first, so logs of runs compare line by line.
const runs = inTurn(chosen, jobs, fuzzOne);
for (const [i, t] of chosen.entries()) {
  const { findings, summary } = await runs[i];
  process.stdout.write(`fuzz ${t.name}: ${summary}, ${findings.length} findings\n`);
  for (const f of findings) {
    process.stdout.write(
      `  ${f.kind}: ${f.message.replace(/\n/g, '\n    ')}\n    input (${f.input.length} bytes): ${f.input.subarray(0, 512).toString('hex')}${f.input.length > 512 ? '...' : ''}\n`,
    );
  }
  if (findings.length === 0) passed++;
  else failed++;
}
process.stdout.write(`fuzz: ${passed} targets passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
