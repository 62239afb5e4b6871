/**
 * PromQL evaluation on a pool of worker threads (`--querier.workers`).
 *
 * Why: Node runs all JavaScript of a process on one thread, and in `strata all` that thread also
 * acknowledges remote writes. Evaluating a heavy query there costs ingest twice: the evaluation
 * itself between cooperative yields, and the scavenges of the query's garbage (decoded sample
 * arrays, per-step vectors), which stop the whole heap. A worker has a heap of its own.
 *
 * Design, which data crosses threads and how:
 * - The main thread parses the query only to answer syntax errors as before; it sends the text,
 *   times and timeout to a worker, which parses it again and evaluates it with its own Engine.
 * - Every storage call of the evaluation (select, series, label names and values) goes back to
 *   the main thread over the worker's port, with the matchers as strings. The main thread runs it
 *   against the request's Querier (the head, blocks, store gateways or remote stores, with the
 *   request's partial-response choice, warnings, budgets and its own abort signal) and answers.
 * - select answers with each series' stored data undecoded, written by the stores into a RawPacker
 *   (Querier.selectRawInto): the XOR chunk bytes as the store keeps them and the labels as UTF-16
 *   code units, in a few flat typed arrays; stores without selectRaw send decoded samples. The
 *   buffers are transferred, not copied. Decoding, evaluation and all their garbage live in the worker.
 * - The query API's result comes back as its JSON, encoded by the worker, in one transferred buffer
 *   (instantQueryJson, rangeQueryJson): the main thread writes the bytes to the socket and builds
 *   no object per series or sample. Callers that need the result itself (the ruler) get it packed
 *   (labels as code units, samples in transferred typed arrays). Warnings, infos and errors (with their
 *   stable IDs, statuses and Retry-After) cross as plain data, so answers are the same as when
 *   the main thread evaluates.
 * - Cancellation: the request's AbortSignal sends a cancel message, and the worker's Engine
 *   enforces the timeout; storage calls of a query still running on the main thread are aborted
 *   when the worker gives up on them or the query ends.
 * - Memory: a worker holds only what its running queries hold (the same --query.max-samples
 *   bound as on the main thread); the main thread holds a select's packed buffer until it is
 *   transferred.
 * - A worker that dies (an exception escaping, out of memory) fails its running queries with a
 *   500 (err-strata-query-worker-failed) and is replaced; the process keeps serving.
 *
 * Queries go to the worker running the fewest; each worker runs several at a time, as their
 * storage calls wait on the main thread.
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import {
  RawPacker,
  StrataError,
  mayReadRollups,
  releaseBlocks,
  selectRawIntoOf,
  selectRawOf,
  type Matcher,
  type Querier,
  type SelectHints,
} from '@strata/model';
import { formatExpr, type EngineOptions, type Expr, type QueryOptions, type QueryOutcome } from '@strata/promql';
import type { QueryWorkerData } from './query-worker.js';
import {
  errorFromWire,
  errorToWire,
  matchersFromWire,
  labelsTransfer,
  packLabels,
  packRaw,
  packSeries,
  rawTransfer,
  seriesTransfer,
  unpackResult,
  type PackedRaw,
  type FromWorker,
  type ToWorker,
} from './worker-wire.js';

/** A query's outcome with its result as the API's `data` JSON (result-json.ts), truncated to the limit. */
export interface EncodedOutcome {
  json: Uint8Array;
  /** The evaluation's warnings, then the truncation warning if the limit cut the result. */
  warnings: string[];
  infos: string[];
}

/** What the query API needs of whatever evaluates PromQL: the Engine itself, or this pool. */
export interface PromqlExecutor {
  readonly opts: { timeoutMs: number };
  instantQuery(q: Querier, query: string | Expr, timeMs: number, o?: QueryOptions): Promise<QueryOutcome>;
  rangeQuery(q: Querier, query: string | Expr, startMs: number, endMs: number, stepMs: number, o?: QueryOptions): Promise<QueryOutcome>;
  /** When present, the query API asks for the JSON of the result instead (executors that encode off this thread). */
  instantQueryJson?(q: Querier, query: string | Expr, timeMs: number, o: QueryOptions, limit: number): Promise<EncodedOutcome>;
  rangeQueryJson?(
    q: Querier,
    query: string | Expr,
    startMs: number,
    endMs: number,
    stepMs: number,
    o: QueryOptions,
    limit: number,
  ): Promise<EncodedOutcome>;
}

export interface WorkerPoolOptions {
  size: number;
  engine: EngineOptions;
  /** The compiled worker entry; by default query-worker.js beside this module, or in ../dist when run from sources. */
  workerFile?: URL;
  /**
   * Niceness of the worker threads (Linux; default 10, 0 leaves them as the main thread): under
   * CPU contention the thread acknowledging writes runs first.
   */
  nice?: number;
  /** Called when a worker dies, with the error (for logs). */
  onWorkerFailure?: (err: Error) => void;
  /**
   * Whether workers read local TSDB blocks' files themselves (default true): a select then
   * crosses with the head's chunks packed and the local blocks in range listed, each leased until
   * the query ends (docs/query-workers.md). False packs the blocks' chunks on this thread.
   */
  readBlocks?: boolean;
}

type Done = Extract<FromWorker, { t: 'done' | 'done-json' }>;

interface Running {
  resolve: (m: Done) => void;
  reject: (e: Error) => void;
  querier: Querier;
  /** Aborts the query's storage calls on the main thread. */
  ac: AbortController;
  calls: Map<number, AbortController>;
  /** Selects whose local blocks the worker reads itself: their leases, ended with the query. */
  leased: PackedRaw[];
}

interface Slot {
  worker: Worker;
  running: Map<number, Running>;
  /** Given up on: its workers died before starting MAX_START_FAILURES times in a row. */
  dead: boolean;
  /** What the worker reported on starting: its kernel thread ID and niceness (Linux). */
  thread?: { tid: number | undefined; nice: number | undefined };
}

const MAX_START_FAILURES = 3;

type QueryMsg = Extract<ToWorker, { t: 'query' }>;

/** A worker's answer as the Engine's outcome (for callers that need the result itself, not its JSON). */
function outcomeOf(m: Done): QueryOutcome {
  if (m.t !== 'done') throw new Error('query worker answered JSON where a result was asked for');
  return { result: unpackResult(m.result), warnings: m.warnings, infos: m.infos };
}

function encodedOf(m: Done): EncodedOutcome {
  if (m.t !== 'done-json') throw new Error('query worker answered a result where its JSON was asked for');
  return { json: m.json, warnings: m.warnings, infos: m.infos };
}

/**
 * A select's answer for a worker: written by the stores straight into one packer (selectRawInto),
 * or, with a limit (which needs the merged, sorted series), selectRaw's answer packed.
 */
export async function selectPacked(q: Querier, matchers: readonly Matcher[], hints: SelectHints, deferBlocks = false): Promise<PackedRaw> {
  if (hints.limit) return packRaw(await selectRawOf(q, matchers, hints), hints.signal);
  const into = new RawPacker({ deferBlocks });
  try {
    await selectRawIntoOf(q, matchers, hints, into);
  } catch (e) {
    releaseBlocks(into.finish());
    throw e;
  }
  return into.finish();
}

/** The compiled worker file: beside this module in dist/, or in ../dist/ when this module runs from src/ (tests, tsx). */
export function defaultWorkerFile(): URL {
  const here = new URL('./query-worker.js', import.meta.url);
  if (fs.existsSync(here)) return here;
  const dist = new URL('../dist/query-worker.js', import.meta.url);
  if (fs.existsSync(dist)) return dist;
  throw new Error(`query worker file not found at ${here.pathname} or ${dist.pathname}; run \`npm run build\``);
}

/** Node flags of this process that a worker may inherit. */
function workerExecArgv(): string[] {
  // Workers refuse V8 and per-process options (--expose-gc, --trace-gc, --max-old-space-size,
  // --title...) and must not take the source condition or loaders: only Node options known to be
  // per-thread pass.
  return process.execArgv.filter((a) => WORKER_SAFE_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)) || a.startsWith('--experimental-'));
}

const WORKER_SAFE_FLAGS = [
  '--enable-source-maps',
  '--no-warnings',
  '--trace-warnings',
  '--no-deprecation',
  '--trace-deprecation',
  '--unhandled-rejections',
  // Profiling a benchmark (STRATA_NODE_FLAGS=--cpu-prof): each worker writes a profile of its own.
  '--cpu-prof',
  '--cpu-prof-dir',
];

export class QueryWorkerPool implements PromqlExecutor {
  readonly opts: EngineOptions;
  private readonly slots: Slot[] = [];
  private readonly file: URL;
  private nextId = 1;
  private closed = false;
  /** Workers replaced after dying (for /metrics and tests). */
  replaced = 0;

  constructor(private readonly o: WorkerPoolOptions) {
    if (o.size < 1) throw new Error('a query worker pool needs at least one worker');
    this.opts = o.engine;
    this.file = o.workerFile ?? defaultWorkerFile();
    for (let i = 0; i < o.size; i++) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.slots.length;
  }

  /** Queries running per worker (for tests and metrics). */
  load(): number[] {
    return this.slots.map((s) => s.running.size);
  }

  /** Each worker's kernel thread ID and niceness as it reported them (undefined until started). */
  threads(): ({ tid: number | undefined; nice: number | undefined } | undefined)[] {
    return this.slots.map((s) => s.thread);
  }

  /** Ends a worker as a crash would (tests of crash handling). */
  async crashWorkerForTest(i: number): Promise<void> {
    await this.slots[i].worker.terminate();
  }

  instantQuery(q: Querier, query: string | Expr, timeMs: number, o: QueryOptions = {}): Promise<QueryOutcome> {
    return this.submit(q, o, (id) => this.instantMsg(id, query, timeMs, o)).then(outcomeOf);
  }

  rangeQuery(
    q: Querier,
    query: string | Expr,
    startMs: number,
    endMs: number,
    stepMs: number,
    o: QueryOptions = {},
  ): Promise<QueryOutcome> {
    return this.submit(q, o, (id) => this.rangeMsg(id, query, startMs, endMs, stepMs, o)).then(outcomeOf);
  }

  instantQueryJson(q: Querier, query: string | Expr, timeMs: number, o: QueryOptions, limit: number): Promise<EncodedOutcome> {
    return this.submit(q, o, (id) => ({ ...this.instantMsg(id, query, timeMs, o), json: { limit } })).then(encodedOf);
  }

  rangeQueryJson(
    q: Querier,
    query: string | Expr,
    startMs: number,
    endMs: number,
    stepMs: number,
    o: QueryOptions,
    limit: number,
  ): Promise<EncodedOutcome> {
    return this.submit(q, o, (id) => ({ ...this.rangeMsg(id, query, startMs, endMs, stepMs, o), json: { limit } })).then(encodedOf);
  }

  private instantMsg(id: number, query: string | Expr, timeMs: number, o: QueryOptions): QueryMsg {
    return {
      t: 'query',
      id,
      ...this.texts(query, o),
      kind: 'instant',
      time: timeMs,
      timeoutMs: this.timeoutOf(o),
      ...(o.maxResolution !== undefined ? { maxResolution: o.maxResolution } : {}),
    };
  }

  private rangeMsg(id: number, query: string | Expr, startMs: number, endMs: number, stepMs: number, o: QueryOptions): QueryMsg {
    return {
      t: 'query',
      id,
      ...this.texts(query, o),
      kind: 'range',
      start: startMs,
      end: endMs,
      step: stepMs,
      timeoutMs: this.timeoutOf(o),
      ...(o.maxResolution !== undefined ? { maxResolution: o.maxResolution } : {}),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /** What the worker parses, and the text the Engine would have used for annotations. */
  private texts(query: string | Expr, o: QueryOptions): { source: string; text: string } {
    if (typeof query === 'string') return { source: query, text: o.text ?? query };
    return { source: o.source ?? o.text ?? formatExpr(query), text: o.text ?? '' };
  }

  private timeoutOf(o: QueryOptions): number {
    return o.timeoutMs ?? this.opts.timeoutMs;
  }

  private submit(querier: Querier, o: QueryOptions, msg: (id: number) => QueryMsg): Promise<Done> {
    if (this.closed) return Promise.reject(new StrataError('not-ready', 'the query workers are shutting down', { retryAfter: 5 }));
    if (o.signal?.aborted) return Promise.reject(new StrataError('query-canceled', 'query was canceled'));
    const live = this.slots.filter((s) => !s.dead);
    if (live.length === 0) return Promise.reject(new StrataError('query-worker-failed', 'no query worker could be started; see the log'));
    const slot = live.reduce((a, b) => (b.running.size < a.running.size ? b : a));
    const id = this.nextId++;
    const ac = new AbortController();
    // The worker enforces the timeout; this bounds storage work left behind should it not answer.
    const timer = setTimeout(
      () => ac.abort(new StrataError('query-timeout', 'query timed out in expression evaluation')),
      this.timeoutOf(o) + 1000,
    );
    const onAbort = () => slot.worker.postMessage({ t: 'cancel', id } satisfies ToWorker);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    return new Promise<Done>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        slot.running.delete(id);
        ac.abort(new StrataError('query-canceled', 'query finished'));
        // The worker is done reading the blocks its selects listed (or died): their files may go.
        for (const p of running.leased.splice(0)) releaseBlocks(p);
      };
      const running: Running = {
        resolve: (v) => (finish(), resolve(v)),
        reject: (e) => (finish(), reject(e)),
        querier,
        ac,
        calls: new Map(),
        leased: [],
      };
      slot.running.set(id, running);
      slot.worker.postMessage(msg(id));
    });
  }

  private spawn(startFailures = 0): Slot {
    const data: QueryWorkerData = { engine: this.opts, nice: this.o.nice ?? 10 };
    const worker = new Worker(this.file, { workerData: data, execArgv: workerExecArgv() });
    const slot: Slot = { worker, running: new Map(), dead: false };
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      const e = new StrataError('query-worker-failed', `query worker failed: ${err.message}`);
      for (const r of [...slot.running.values()]) r.reject(e);
      if (this.closed) return;
      this.o.onWorkerFailure?.(err);
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      // A worker that cannot even start (its file broken or missing) would be replaced forever:
      // after a few such failures in a row the slot stays dead, and queries go to the others.
      // Started means it said hello, after loading its modules ('online' comes before that).
      const failures = slot.thread ? 0 : startFailures + 1;
      if (failures >= MAX_START_FAILURES) {
        slot.dead = true;
        return;
      }
      this.slots[i] = this.spawn(failures);
      this.replaced++;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`worker exited with code ${code}`)));
    // A pool of idle workers must not keep the process alive.
    worker.unref();
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    switch (m.t) {
      case 'done':
      case 'done-json':
        slot.running.get(m.id)?.resolve(m);
        break;
      case 'failed':
        slot.running.get(m.id)?.reject(errorFromWire(m.error));
        break;
      case 'call': {
        const r = slot.running.get(m.query);
        if (!r) {
          slot.worker.postMessage({
            t: 'reply',
            call: m.call,
            ok: false,
            error: errorToWire(new StrataError('query-canceled', 'query was canceled')),
          } satisfies ToWorker);
          break;
        }
        void this.serve(slot, r, m);
        break;
      }
      case 'hello':
        slot.thread = { tid: m.tid, nice: m.nice };
        break;
      case 'abort-call':
        for (const r of slot.running.values()) r.calls.get(m.call)?.abort(new StrataError('query-canceled', 'query was canceled'));
        break;
      case 'block-reads':
        this.blockReads(slot, m);
        break;
    }
  }

  /**
   * Hands what a worker read of a listed block to the block (its cache keeps the files the
   * worker loaded and counts the bytes), through a lease still held on it: the query's own, or
   * another running query's on the same block. With none left (the query ended first, the block
   * may be gone) the reads are dropped, so no file of a deleted block enters the cache.
   */
  private blockReads(slot: Slot, m: Extract<FromWorker, { t: 'block-reads' }>): void {
    const own = slot.running.get(m.query);
    for (const r of own ? [own, ...slot.running.values()] : slot.running.values())
      for (const p of r.leased) {
        const i = p.blocks!.findIndex((b) => b.dir === m.dir && b.ulid === m.ulid);
        if (i >= 0) return p.leases?.[i]?.returned?.(m.reads);
      }
  }

  /** Runs one storage call of a worker's query against the request's querier and answers it. */
  private async serve(slot: Slot, r: Running, m: Extract<FromWorker, { t: 'call' }>): Promise<void> {
    const ac = new AbortController();
    const onQueryAbort = () => ac.abort(r.ac.signal.reason);
    r.ac.signal.addEventListener('abort', onQueryAbort, { once: true });
    r.calls.set(m.call, ac);
    try {
      const matchers = matchersFromWire(m.matchers);
      const hints = { ...m.hints, signal: ac.signal };
      let msg: ToWorker;
      let transfer: ArrayBuffer[] = [];
      switch (m.op) {
        case 'select': {
          // A select that may read rollups crosses decoded, with its rollup side data (packSeries);
          // every other crosses undecoded. Not merely one with a max_source_resolution: `auto`
          // gives every range query one (step / 5), and decoding those here put the whole decode
          // of a 1-hour rate over 30k series back on this thread, in stretches of hundreds of ms.
          if (mayReadRollups(hints)) {
            const packed = await packSeries(await r.querier.select(matchers, hints));
            msg = { t: 'reply', call: m.call, ok: true, value: packed };
            transfer = seriesTransfer(packed);
            break;
          }
          const packed = await selectPacked(r.querier, matchers, hints, this.o.readBlocks ?? true);
          if (packed.leases) {
            // Held until the query ends; a query that ended meanwhile ends them now.
            if (r.ac.signal.aborted) releaseBlocks(packed);
            else r.leased.push(packed);
          }
          // The leases stay here: only the data crosses.
          const wire: PackedRaw = { pieces: packed.pieces, sources: packed.sources, ...(packed.blocks ? { blocks: packed.blocks } : {}) };
          msg = { t: 'reply', call: m.call, ok: true, value: wire };
          transfer = rawTransfer(packed);
          break;
        }
        case 'series': {
          const labels = await packLabels(await r.querier.series(matchers, hints));
          msg = { t: 'reply', call: m.call, ok: true, value: { labels } };
          transfer = labelsTransfer(labels);
          break;
        }
        case 'labelNames':
          msg = { t: 'reply', call: m.call, ok: true, value: await r.querier.labelNames(matchers, hints) };
          break;
        case 'labelValues':
          msg = { t: 'reply', call: m.call, ok: true, value: await r.querier.labelValues(m.name ?? '', matchers, hints) };
          break;
      }
      if (!ac.signal.aborted) slot.worker.postMessage(msg, transfer);
    } catch (e) {
      if (!ac.signal.aborted) slot.worker.postMessage({ t: 'reply', call: m.call, ok: false, error: errorToWire(e) } satisfies ToWorker);
    } finally {
      r.calls.delete(m.call);
      r.ac.signal.removeEventListener('abort', onQueryAbort);
    }
  }
}
