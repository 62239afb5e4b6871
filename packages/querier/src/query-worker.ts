/**
 * The entry of a query worker thread (see worker-pool.ts): parses and evaluates PromQL with its
 * own Engine over a Querier whose every call goes to the main thread over the parent port.
 * Selected series arrive undecoded (chunk bytes) and are decoded here; those of selects that may
 * read rollups arrive decoded, with their rollup side data (worker-wire.ts packSeries).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import {
  Labels,
  RawPacker,
  StrataError,
  resolveBlocks,
  type DeferredBlock,
  type Matcher,
  type Querier,
  type SelectHints,
  type Series,
} from '@strata/model';
import { Engine, parse, ParseError, type EngineOptions, type QueryOutcome } from '@strata/promql';
import { BlockReader, WorkerBlockFiles, decodeRawSeries } from '@strata/tsdb';
import { encodeResultJson } from './result-json.js';
import {
  errorFromWire,
  errorToWire,
  hintsToWire,
  isPackedSeries,
  matchersToWire,
  packResult,
  unpackLabels,
  unpackRaw,
  unpackSeries,
  type FromWorker,
  type PackedLabels,
  type PackedRaw,
  type StorageOp,
  type StorageValue,
  type ToWorker,
} from './worker-wire.js';

export interface QueryWorkerData {
  engine: EngineOptions;
  /** Niceness this thread sets itself to (0: left as is). */
  nice: number;
}

const port = parentPort!;
const config = workerData as QueryWorkerData;
const engine = new Engine(config.engine);

/** Linux: this thread's kernel ID, from /proc/thread-self (a link to <pid>/task/<tid>). */
function kernelThreadId(): number | undefined {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

// A nicer thread than the main one: when cores are scarce, the kernel runs the thread that
// acknowledges writes first and evaluation gets the rest. On Linux setpriority() on a thread
// ID applies to that thread alone; elsewhere this is skipped.
const tid = kernelThreadId();
let nice: number | undefined;
if (tid !== undefined && config.nice !== 0) {
  try {
    os.setPriority(tid, config.nice);
    nice = os.getPriority(tid);
  } catch {
    nice = undefined;
  }
}

const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

/** Storage calls waiting for the main thread's reply. */
const calls = new Map<number, { resolve: (v: StorageValue) => void; reject: (e: Error) => void }>();
let nextCall = 1;
/** Running queries, to cancel. */
const running = new Map<number, AbortController>();

function call(query: number, op: StorageOp, matchers: readonly Matcher[], hints: SelectHints, name?: string): Promise<StorageValue> {
  const id = nextCall++;
  return new Promise<StorageValue>((resolve, reject) => {
    const signal = hints.signal;
    const onAbort = () => {
      calls.delete(id);
      post({ t: 'abort-call', call: id });
      reject(signal!.reason instanceof Error ? signal!.reason : new StrataError('query-canceled', 'query was canceled'));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    calls.set(id, {
      resolve: (v) => (done(), resolve(v)),
      reject: (e) => (done(), reject(e)),
    });
    post({ t: 'call', call: id, query, op, matchers: matchersToWire(matchers), hints: hintsToWire(hints), name });
  });
}

/**
 * Local TSDB blocks this worker reads itself, by directory and ULID: their index (symbols,
 * postings offsets) is opened once and kept while selects list the block. The main thread holds a
 * lease on every block it lists until the query ends, so a block's files are there while a
 * select reads them; one no select has listed for IDLE_BLOCK_MS is closed (it may be gone since).
 * The files are read from the main thread's block cache where the select attached them, and what
 * was read goes back to it (WorkerBlockFiles).
 */
const blocks = new Map<string, { files: WorkerBlockFiles; reader: Promise<BlockReader>; used: number; reading: number }>();
const IDLE_BLOCK_MS = 60_000;

function closeIdleBlocks(now: number): void {
  for (const [k, b] of blocks)
    if (b.reading === 0 && now - b.used > IDLE_BLOCK_MS) {
      blocks.delete(k);
      void b.reader.then((r) => r.close()).catch(() => {});
    }
}
setInterval(() => closeIdleBlocks(Date.now()), IDLE_BLOCK_MS).unref();

/** A listed block's series, read here exactly as the block would have packed them on the main thread. */
async function readBlock(query: number, b: DeferredBlock, matchers: readonly Matcher[], hints: SelectHints): Promise<PackedRaw> {
  const key = `${b.dir}\u0000${b.ulid}`;
  let e = blocks.get(key);
  if (!e) {
    const files = new WorkerBlockFiles(b.dir);
    // Attached before the index is opened, so that it is read from the cache too.
    files.attach(b.files);
    const reader = BlockReader.open(files.sources, path.basename(b.dir));
    e = { files, reader, used: 0, reading: 0 };
    blocks.set(key, e);
    reader.catch(() => blocks.get(key) === e && blocks.delete(key));
  } else e.files.attach(b.files);
  e.used = Date.now();
  e.reading++;
  try {
    const r = await e.reader;
    if (r.meta.ulid !== b.ulid) throw new Error(`block ${b.dir} holds ${r.meta.ulid}, not ${b.ulid}`);
    const into = new RawPacker();
    await r.selectRawInto(matchers, { ...hints, start: b.start, end: b.end }, into);
    return into.finish();
  } finally {
    if (--e.reading === 0) e.files.release();
    e.used = Date.now();
    // Before the query's answer, so the main thread still holds the block's lease when it arrives.
    const reads = e.files.takeReads();
    if (reads) post({ t: 'block-reads', query, dir: b.dir, ulid: b.ulid, reads });
  }
}

/** The storage of one query: the main thread's querier of the request, reached over the port. */
function portQuerier(query: number): Querier {
  return {
    async select(ms, hints): Promise<Series[]> {
      const value = await call(query, 'select', ms, hints);
      // Selects that may read rollups come decoded and sorted, with their side data.
      if (isPackedSeries(value)) return unpackSeries(value);
      // The head packed by the main thread, the local blocks in range read here from their files.
      const raw = unpackRaw(await resolveBlocks(value as PackedRaw, (b) => readBlock(query, b, ms, hints)));
      const out: Series[] = [];
      for (const r of raw) {
        const s = decodeRawSeries(r, hints.start, hints.end);
        if (s) out.push(s);
      }
      // selectRaw's order is the store's; select's is by labels.
      return out.sort((a, b) => Labels.compare(a.labels, b.labels));
    },
    async series(ms, hints): Promise<Labels[]> {
      return unpackLabels(((await call(query, 'series', ms, hints)) as { labels: PackedLabels }).labels);
    },
    async labelNames(ms, hints): Promise<string[]> {
      return (await call(query, 'labelNames', ms, hints)) as string[];
    },
    async labelValues(name, ms, hints): Promise<string[]> {
      return (await call(query, 'labelValues', ms, hints, name)) as string[];
    },
  };
}

async function runQuery(m: Extract<ToWorker, { t: 'query' }>): Promise<void> {
  const ac = new AbortController();
  running.set(m.id, ac);
  try {
    // The main thread parsed the same text already and answered parse errors itself.
    let expr;
    try {
      expr = parse(m.source);
    } catch (e) {
      if (e instanceof ParseError) throw new StrataError('bad-query', `invalid parameter "query": ${e.message}`);
      throw e;
    }
    const q = portQuerier(m.id);
    const o = { signal: ac.signal, timeoutMs: m.timeoutMs, text: m.text, maxResolution: m.maxResolution };
    const out: QueryOutcome =
      m.kind === 'instant' ? await engine.instantQuery(q, expr, m.time, o) : await engine.rangeQuery(q, expr, m.start, m.end, m.step, o);
    if (m.json) {
      // The API JSON encoded here and its bytes transferred: for a large result, building the
      // objects and the string on the main thread took hundreds of ms there.
      const warnings = [...out.warnings];
      const json = encodeResultJson(out.result, m.json.limit, warnings);
      post({ t: 'done-json', id: m.id, json, warnings, infos: out.infos }, [json.buffer as ArrayBuffer]);
      return;
    }
    const { packed, transfer } = await packResult(out.result);
    post({ t: 'done', id: m.id, result: packed, warnings: out.warnings, infos: out.infos }, transfer);
  } catch (e) {
    post({ t: 'failed', id: m.id, error: errorToWire(e) });
  } finally {
    running.delete(m.id);
  }
}

port.postMessage({ t: 'hello', tid, nice } satisfies FromWorker);

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'query':
      void runQuery(m);
      break;
    case 'cancel':
      running.get(m.id)?.abort(new StrataError('query-canceled', 'query was canceled'));
      break;
    case 'reply': {
      const c = calls.get(m.call);
      if (!c) break; // aborted meanwhile
      calls.delete(m.call);
      if (m.ok) c.resolve(m.value);
      else c.reject(errorFromWire(m.error));
      break;
    }
  }
});
