/**
 * zstd (at the codec's level, 5) against snappy for log blocks of 256 KiB raw, on synthetic JSON and logfmt
 * lines; with the whole raw file through `zstd -3` as the size floor.
 *   npx tsx --conditions=strata-src packages/logs/bench/compare-codecs.ts [MB]
 */
import { execFileSync } from 'node:child_process';
import { compressBlock, decompressRaw, encodeRawBlock, type BlockCompression } from '../src/chunk/block-codec.js';
import { mulberry32 } from '@strata/model';
import { syntheticLine, syntheticStreams } from '../src/chunk/synthetic-logs.js';

const MB = Number(process.argv[2] ?? 64);
const BLOCK = 256 * 1024;
const streams = syntheticStreams(100);
const rnd = mulberry32(7);
const raws: Buffer[] = [];
const all: string[] = [];
let total = 0;
let t = Date.UTC(2026, 11, 1);
for (const s of streams) {
  let ts: bigint[] = [];
  let lines: string[] = [];
  let size = 0;
  for (let bytes = 0; bytes < (MB * 1024 * 1024) / streams.length;) {
    t += Math.floor(rnd() * 50);
    const line = syntheticLine(s, rnd, t);
    ts.push(BigInt(t) * 1_000_000n);
    lines.push(line);
    all.push(line);
    size += line.length;
    bytes += line.length;
    if (size >= BLOCK) {
      raws.push(encodeRawBlock(BigInt64Array.from(ts), lines, undefined));
      ts = [];
      lines = [];
      size = 0;
    }
  }
  if (lines.length > 0) raws.push(encodeRawBlock(BigInt64Array.from(ts), lines, undefined));
}
for (const r of raws) total += r.length;
const lineBytes = Buffer.byteLength(all.join('\n') + '\n');
const floor = execFileSync('zstd', ['-3', '-c', '-q'], { input: all.join('\n') + '\n', maxBuffer: 1 << 30 }).length;
console.log(
  `${(lineBytes / 1e6).toFixed(1)} MB of lines in ${raws.length} blocks; zstd -3 of the raw file: ${floor} bytes (ratio ${(lineBytes / floor).toFixed(2)})`,
);
for (const c of ['zstd', 'snappy'] as BlockCompression[]) {
  const t0 = process.hrtime.bigint();
  const comp: Buffer[] = [];
  for (const r of raws) comp.push(await compressBlock(r, c));
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < comp.length; i++) await decompressRaw(comp[i], c);
  const t2 = process.hrtime.bigint();
  const size = comp.reduce((n, b) => n + b.length, 0);
  console.log(
    `${c.padEnd(6)} stored ${size} bytes = ${(size / floor).toFixed(2)}x zstd -3 of the file, ratio ${(lineBytes / size).toFixed(2)}; ` +
      `compress ${((total / Number(t1 - t0)) * 1e3).toFixed(0)} MB/s, decompress ${((total / Number(t2 - t1)) * 1e3).toFixed(0)} MB/s`,
  );
}
