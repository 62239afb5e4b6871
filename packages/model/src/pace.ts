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
// 2 ms: with PromQL on worker threads, what still runs here in slices is storage work (index
// lookups, packing chunk bytes for the workers), and a 5 ms slice made each one a 5 ms stall of
// every acknowledgement; a yield costs microseconds.
const DEFAULT_SLICE_MS = 2;
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

/**
 * Paused work waiting for its next slice, first in first out. One slice runs per turn of the
 * event loop, whatever the number of queries: were every paused query resumed in the same turn
 * (as plain setImmediate does), an acknowledgement needing three turns (body, WAL write, fsync)
 * would wait behind three slices of every running query.
 */
const waiting: (() => void)[] = [];
let scheduled = false;

function resumeNext(): void {
  const next = waiting.shift();
  // Scheduled from inside an immediate callback: it runs in the next turn, after pending I/O.
  scheduled = waiting.length > 0;
  if (scheduled) setImmediate(resumeNext);
  sliceStart = performance.now();
  next?.();
}

/** Yields to the event loop unconditionally and starts a new slice when resumed. */
export function yieldNow(): Promise<void> {
  yields++;
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (!scheduled) {
      scheduled = true;
      setImmediate(resumeNext);
    }
  });
}

/** How often work has yielded (for /metrics). */
export function paceYields(): number {
  return yields;
}

/** Elements sorted or merged between two looks at the clock. */
const RUN = 1024;

/**
 * Sorts `a` in place like Array.prototype.sort (stable), in runs of RUN elements merged
 * bottom-up, yielding between stretches: sorting 100k label sets takes a few hundred
 * milliseconds, which in one piece would hold every acknowledgement behind it.
 */
export async function sortPaced<T>(a: T[], cmp: (x: T, y: T) => number): Promise<T[]> {
  const n = a.length;
  if (n <= RUN) return a.sort(cmp);
  for (let lo = 0; lo < n; lo += RUN) {
    const run = a.slice(lo, lo + RUN).sort(cmp);
    for (let i = 0; i < run.length; i++) a[lo + i] = run[i];
    const y = pace();
    if (y) await y;
  }
  let src = a;
  let dst: T[] = new Array<T>(n);
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      for (let k = lo; k < hi; k++) {
        // Ties take the left run first: stable, as Array.prototype.sort.
        dst[k] = j >= hi || (i < mid && cmp(src[i], src[j]) <= 0) ? src[i++] : src[j++];
        if ((k & (RUN - 1)) === 0) {
          const y = pace();
          if (y) await y;
        }
      }
    }
    [src, dst] = [dst, src];
  }
  if (src !== a) for (let i = 0; i < n; i++) a[i] = src[i];
  return a;
}
