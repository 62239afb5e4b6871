/**
 * `node --import tsx packages/tsdb/test/large-snapshot.manual.ts [GiB]`: writes a valid head snapshot
 * larger than Node's 2 GiB whole-file read limit (default 2.2 GiB, in the snapshot format, without
 * building a head first), loads it, and prints the load time and the resident memory above the
 * chunk bytes loaded. Manual: it needs that much disk and memory, too much for every test run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { Head } from '../src/head/head.js';
import { loadSnapshot } from '../src/head/snapshot.js';

const gib = Number(process.argv[2] ?? 2.2);
const CHUNK = 56 << 10;
const PER_SERIES = 2;
const series = Math.ceil((gib * 2 ** 30) / (CHUNK * PER_SERIES));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bigsnap-'));
const file = path.join(dir, 'snapshot');
try {
  const fd = fs.openSync(file, 'w');
  let crc = 0;
  const put = (b: Buffer) => {
    crc = crc32c(b, crc);
    fs.writeSync(fd, b);
  };
  const u32 = (v: number) => {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v >>> 0);
    return b;
  };
  const f64 = (v: number) => {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleLE(v);
    return b;
  };
  const str = (s: string) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
  const data = Buffer.alloc(CHUNK, 0xa5);
  put(Buffer.concat([Buffer.from('STRSNAP1'), u32(0), f64(0), u32(series)]));
  for (let i = 0; i < series; i++) {
    const parts = [
      u32(i + 1),
      u32(4),
      str('__name__'),
      str('big'),
      str('series'),
      str(String(i)),
      f64(7_200_000),
      u32(0),
      u32(0),
      u32(PER_SERIES),
    ];
    put(Buffer.concat(parts));
    for (let c = 0; c < PER_SERIES; c++) {
      put(Buffer.concat([f64(c * 3_600_000), f64(c * 3_600_000 + 3_599_000), u32(CHUNK)]));
      put(data);
    }
    put(u32(0));
  }
  fs.writeSync(fd, u32(crc));
  fs.closeSync(fd);
  const size = fs.statSync(file).size;
  const head = new Head({ outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 });
  const rss0 = process.memoryUsage.rss();
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  const t0 = Date.now();
  const got = await loadSnapshot(file, head);
  const secs = (Date.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  const chunkBytes = series * PER_SERIES * CHUNK;
  process.stdout.write(
    `${JSON.stringify(got)}: ${head.numSeries} series, file ${(size / 2 ** 30).toFixed(2)} GiB, loaded in ${secs.toFixed(1)} s; ` +
      `resident memory grew ${((peak - rss0) / 2 ** 20).toFixed(0)} MiB for ${(chunkBytes / 2 ** 20).toFixed(0)} MiB of chunks ` +
      `(${((peak - rss0 - chunkBytes) / 2 ** 20).toFixed(0)} MiB beyond them)\n`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
