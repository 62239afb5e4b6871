/**
 * Preloaded into a Strata process by the ack-latency bench (`--stalls`, through `node --import`):
 * records every stretch in which the main thread's event loop did not turn for 2 ms or more, to
 * the file named by STRATA_STALL_FILE, one line per stall, "<end epoch ms> <length ms> <on-CPU ms>
 * <end monotonic µs>"; the last is the clock of V8's CPU profiles (--cpu-prof), to find in a
 * profile what ran during each stall.
 *
 * A timer re-armed every millisecond fires late by as long as the thread was held by synchronous
 * work (or garbage collection) since it was due, so its lateness is the length of that span. This
 * measures the thread that acknowledges writes directly, unlike the acknowledgement latency, which
 * also counts the sender and the kernel. On a loaded machine a span also stretches while the
 * thread waits for a core, so each stall carries the main thread's own CPU time over it too (Linux
 * schedstat, in ns, read at every tick; NaN elsewhere): that part is the process's own doing.
 *
 * Worker threads inherit the flag; they are left alone.
 */
import fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const file = process.env.STRATA_STALL_FILE;
if (isMainThread && file) {
  const fd = fs.openSync(file, 'a');
  const THRESHOLD_MS = 2;
  let pending = '';
  // The main thread's task ID is the process ID; a pread at offset 0 re-reads the counters.
  let stat = -1;
  try {
    stat = fs.openSync(`/proc/self/task/${process.pid}/schedstat`, 'r');
  } catch {
    // Not Linux: lengths only.
  }
  const buf = Buffer.alloc(64);
  const cpuMs = () => (stat < 0 ? NaN : Number(buf.toString('latin1', 0, fs.readSync(stat, buf, 0, 64, 0)).split(' ')[0]) / 1e6);
  let last = performance.now();
  let lastCpu = cpuMs();
  const tick = () => {
    const now = performance.now();
    const cpu = cpuMs();
    // The timer was due 1 ms after the previous tick; anything beyond is time the loop was held.
    const late = now - last - 1;
    if (late >= THRESHOLD_MS)
      pending += `${(performance.timeOrigin + now).toFixed(1)} ${late.toFixed(2)} ${(cpu - lastCpu).toFixed(2)} ${process.hrtime.bigint() / 1000n}\n`;
    last = now;
    lastCpu = cpu;
  };
  setInterval(tick, 1).unref();
  // Written in batches so the measuring does not itself add a write per stall on the thread.
  setInterval(() => {
    if (!pending) return;
    fs.writeSync(fd, pending);
    pending = '';
  }, 250).unref();
  process.on('exit', () => {
    if (pending) fs.writeSync(fd, pending);
  });
}
