/**
 * What a fuzz target is, and the one invariant every target is held to: a decoder given any bytes
 * either returns or throws an error of a documented class (a StrataError becomes its 4xx; anything
 * else would be a 500 or a crash), within a time limit, and without allocating more than a stated
 * multiple of its input.
 */
import v8 from 'node:v8';
import type { Rng } from './mutate.js';

export interface FuzzTarget {
  name: string;
  /** Seed corpus folder, relative to the repository root. */
  corpus: string;
  /** Source folders (relative to the root) whose block coverage guides mutation. */
  cover: readonly string[];
  /** Decodes one input. May throw only what `expected` accepts. */
  run(input: Buffer): unknown;
  /** The documented error classes this decoder may throw. */
  expected(e: unknown): boolean;
  /** Heap + external memory one run may add, per input byte (default 64) ... */
  bytesPerInputByte?: number;
  /** ... plus this many bytes (default 16 MiB). */
  fixedBytes?: number;
  /** Longest input the mutator makes (default 64 KiB). */
  maxInputBytes?: number;
  /** Tokens the mutator splices in (keywords, magic numbers). */
  dictionary?: readonly string[];
  /** One run taking longer than this is a hang (default 2000 ms). */
  timeoutMs?: number;
  /** A format-aware mutation (half of all mutations when given); undefined falls back to bytes. */
  structured?(rng: Rng, input: Buffer): Buffer | undefined;
}

export type FindingKind = 'unexpected-error' | 'memory' | 'slow' | 'hang' | 'out-of-memory';

export interface Finding {
  kind: FindingKind;
  message: string;
  input: Buffer;
}

function used(): number {
  const h = v8.getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

/** Runs one input and checks the invariant; undefined when it holds. */
export async function checkOne(target: FuzzTarget, input: Buffer): Promise<Finding | undefined> {
  const before = used();
  const t0 = performance.now();
  let error: unknown;
  try {
    const r = target.run(input);
    if (r && typeof (r as Promise<unknown>).then === 'function') await r;
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - t0;
  const grew = used() - before;
  if (error !== undefined && !target.expected(error)) {
    const e = error as Error;
    return {
      kind: 'unexpected-error',
      message: `${e?.name ?? typeof e}: ${e?.message ?? String(e)}\n${(e?.stack ?? '').split('\n').slice(1, 6).join('\n')}`,
      input,
    };
  }
  const limit = (target.bytesPerInputByte ?? 64) * input.length + (target.fixedBytes ?? 16 << 20);
  if (grew > limit)
    return {
      kind: 'memory',
      message: `one run grew heap + external memory by ${grew} bytes, over the ${limit} allowed for ${input.length} input bytes`,
      input,
    };
  const timeout = target.timeoutMs ?? 2000;
  if (ms > timeout) return { kind: 'slow', message: `one run took ${ms.toFixed(0)} ms (limit ${timeout} ms)`, input };
  return undefined;
}
