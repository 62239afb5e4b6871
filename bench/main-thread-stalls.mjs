/**
 * Preloaded into a Strata process by the ack-latency bench (`--stalls`, through `node --import`):
 * records every stretch in which the main thread's event loop did not turn for 2 ms or more, to
 * the file named by STRATA_STALL_FILE, one line per stall, "<end epoch ms> <length ms>".
 *
 * A timer re-armed every millisecond fires late by as long as the thread was held by synchronous
 * work (or garbage collection) since it was due, so its lateness is the length of that span. This
 * measures the thread that acknowledges writes directly, unlike the acknowledgement latency, which
 * also counts the sender, the kernel and the other processes of a loaded machine.
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
  let last = performance.now();
  const tick = () => {
    const now = performance.now();
    // The timer was due 1 ms after the previous tick; anything beyond is time the loop was held.
    const late = now - last - 1;
    last = now;
    if (late >= THRESHOLD_MS) pending += `${(performance.timeOrigin + now).toFixed(1)} ${late.toFixed(2)}\n`;
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
