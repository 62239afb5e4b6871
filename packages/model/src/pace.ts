/**
 * Cooperative time slicing of long work on the event-loop thread.
 *
 * Node runs all JavaScript of a process on one thread: a query that decodes 100k series in one
 * synchronous stretch delays every remote-write acknowledgement, readiness probe and fsync
 * completion queued behind it. Long loops (selecting and decoding series, evaluating PromQL per
 * series, encoding large responses) call `pace()` between units of work; once the thread has
 * run for a slice without returning to the event loop, pace() yields with setImmediate, which
 * lets pending I/O (incoming requests, WAL fsync callbacks) run before the loop resumes.
 *
 * So an acknowledgement waits for at most one slice of a query, not for the whole query. The
 * slice is a trade: shorter slices cut ingest latency and cost queries more switches
 * (`--query.yield-interval`; a setImmediate round trip is a few microseconds).
 */
const DEFAULT_SLICE_MS = 5;
let sliceMs = DEFAULT_SLICE_MS;
let sliceStart = performance.now();
let calls = 0;
let yields = 0;

/** Sets the slice length in ms (0 yields at every check: for tests). */
export function setPaceSlice(ms: number): void {
  sliceMs = ms;
}

/** True when the current stretch of work has used up its slice. Cheap: a clock read. */
export function sliceExpired(): boolean {
  return performance.now() - sliceStart >= sliceMs;
}

/** Yields to the event loop when the slice is used up; otherwise resolves at once. */
export function pace(): Promise<void> | undefined {
  // Reading the clock costs tens of nanoseconds; every 16th call keeps it out of the profile.
  if ((++calls & 15) !== 0 || !sliceExpired()) return undefined;
  return yieldNow();
}

/** Yields to the event loop unconditionally and starts a new slice when resumed. */
export function yieldNow(): Promise<void> {
  yields++;
  return new Promise((resolve) =>
    setImmediate(() => {
      sliceStart = performance.now();
      resolve();
    }),
  );
}

/** How often work has yielded (for /metrics). */
export function paceYields(): number {
  return yields;
}
