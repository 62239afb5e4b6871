/**
 * The fuzzing loop for one target, run in a worker thread so the main thread can stop it when one
 * input hangs. Guidance is V8's own block coverage (the inspector's precise coverage, no source
 * instrumentation): an input that reaches a block of the target's sources not reached before joins
 * the corpus. Taking coverage costs milliseconds, so inputs run in batches and only a batch that
 * found something new is re-run input by input to find which.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { mutate, Rng } from './mutate.js';
import { checkOne, type Finding, type FuzzTarget } from './target.js';

export interface WorkerData {
  target: string;
  seconds: number;
  seed: number;
  root: string;
  /** Module (path from the root) exporting TARGETS; the fuzzer's own tests use a fixture. */
  targets: string;
  /** [0] runs started, [1] length of the current input, then its bytes. */
  shared: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: 'finding'; finding: Finding }
  | { type: 'interesting'; input: Buffer }
  | { type: 'done'; runs: number; corpus: number; seeds: number; blocks: number };

const BATCH = 128;

const session = new inspector.Session();
session.connect();
function post(method: string, params?: object): any {
  let out: any;
  let err: Error | null = null;
  // The in-thread inspector answers synchronously.
  session.post(method, params ?? {}, (e, r) => {
    err = e;
    out = r;
  });
  if (err) throw err;
  return out;
}
// Coverage must start before the target's modules load, or their functions get no block counters.
post('Profiler.enable');
post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });

const data = workerData as WorkerData;
const { TARGETS } = await import(pathToFileURL(path.join(data.root, data.targets)).href);
const target: FuzzTarget | undefined = TARGETS.find((t: FuzzTarget) => t.name === data.target);
if (!target) throw new Error(`no fuzz target ${data.target}`);
const prefixes = target.cover.map((c) => `file://${path.join(data.root, c)}/`);
const counters = new Int32Array(data.shared, 0, 2);
const current = new Uint8Array(data.shared, 8);
const seen = new Set<string>();

/** Blocks of the target's sources reached since the last call, as keys. */
function reached(): string[] {
  const out: string[] = [];
  for (const script of post('Profiler.takePreciseCoverage').result) {
    if (!prefixes.some((p) => script.url.startsWith(p))) continue;
    for (const f of script.functions) for (const r of f.ranges) if (r.count > 0) out.push(`${script.url}:${r.startOffset}:${r.endOffset}`);
  }
  return out;
}

function novel(keys: string[], add: boolean): boolean {
  let found = false;
  for (const k of keys) {
    if (seen.has(k)) continue;
    found = true;
    if (add) seen.add(k);
    else return true;
  }
  return found;
}

const reported = new Set<string>();
async function runOne(input: Buffer): Promise<void> {
  counters[1] = input.length;
  current.set(input.subarray(0, current.length));
  Atomics.add(counters, 0, 1);
  const f = await checkOne(target!, input);
  if (f) {
    // One report per error and place; memory and time findings differ only in their figures.
    const key = f.kind === 'unexpected-error' ? `${f.kind}:${f.message.split('\n').slice(0, 2).join('|')}` : f.kind;
    if (!reported.has(key) && reported.size < 20) {
      reported.add(key);
      parentPort!.postMessage({ type: 'finding', finding: f } satisfies WorkerMessage);
    }
  }
}

const maxLen = Math.min(target.maxInputBytes ?? 64 << 10, current.length);
const dictionary = (target.dictionary ?? []).map((d) => Buffer.from(d));
const dir = path.join(data.root, target.corpus);
const corpus: Buffer[] = fs.existsSync(dir)
  ? fs
      .readdirSync(dir)
      .sort()
      .map((f) => fs.readFileSync(path.join(dir, f)))
  : [];
const seeds = corpus.length;
if (corpus.length === 0) corpus.push(Buffer.alloc(0));
reached(); // drop what loading the modules reached
for (const s of corpus) {
  await runOne(s);
  novel(reached(), true);
}

const rng = new Rng(data.seed);
const deadline = Date.now() + data.seconds * 1000;
let runs = corpus.length;
while (Date.now() < deadline) {
  const batch: Buffer[] = [];
  for (let i = 0; i < BATCH; i++) {
    const base = rng.pick(corpus);
    const s = target.structured && rng.int(2) === 0 ? target.structured(rng, base) : undefined;
    batch.push(s && s.length <= maxLen ? s : mutate(rng, base, rng.pick(corpus), maxLen, dictionary));
  }
  for (const b of batch) await runOne(b);
  runs += batch.length;
  if (novel(reached(), false)) await bisect(batch);
}

/** Finds the inputs of a batch that reached new blocks by halving it: a few coverage takes per find, not one per input. */
async function bisect(inputs: Buffer[]): Promise<void> {
  if (inputs.length === 1) {
    await runOne(inputs[0]);
    runs++;
    if (novel(reached(), true)) {
      corpus.push(inputs[0]);
      parentPort!.postMessage({ type: 'interesting', input: inputs[0] } satisfies WorkerMessage);
    }
    return;
  }
  const mid = inputs.length >> 1;
  for (const half of [inputs.slice(0, mid), inputs.slice(mid)]) {
    for (const b of half) await runOne(b);
    runs += half.length;
    if (novel(reached(), false)) await bisect(half);
  }
}
parentPort!.postMessage({ type: 'done', runs, corpus: corpus.length, seeds, blocks: seen.size } satisfies WorkerMessage);
