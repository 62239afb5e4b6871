/**
 * A cut of a log head into a log block in a local-folder bucket, and reads of it back: the cost
 * of the cut and upload, the block's size against the raw lines, and for a one-stream query and a
 * needle query the bytes fetched and the time against the same query on the head.
 *   npx tsx --conditions=strata-src packages/logs/bench/log-blocks.ts [MB] [streams]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { BucketLogs } from '../src/block/bucket-logs.js';
import { LogStore } from '../src/store/log-store.js';
import { mulberry32 } from '@strata/model';
import { syntheticLine, syntheticStreams } from '../src/chunk/synthetic-logs.js';
import type { LogQuerier, LogSelectHints } from '../src/types.js';

const MB = Number(process.argv[2] ?? 32);
const NSTREAMS = Number(process.argv[3] ?? 100);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-logblocks-bench-'));
const bucket = new FilesystemBucket(path.join(dir, 'bucket'));
const store = await LogStore.open({ dir: path.join(dir, 'logs'), fsync: 'none', cutIntervalMs: 0, bucket });
const streams = syntheticStreams(NSTREAMS);
const rnd = mulberry32(11);
let raw = 0;
let t = Date.UTC(2026, 11, 1);
const t0 = t;
while (raw < MB * 1024 * 1024) {
  // One push per stream of 50 lines, as a client batches them.
  const batch = streams.map((s) => {
    const ts: bigint[] = [];
    const lines: string[] = [];
    for (let i = 0; i < 50; i++) {
      t += 1;
      const line = syntheticLine(s, rnd, t);
      ts.push(BigInt(t) * 1_000_000n);
      lines.push(line);
      raw += Buffer.byteLength(line);
    }
    const labels = Labels.fromObject(s.labels);
    return { labels, labelsText: labels.toString(), timestampsNs: BigInt64Array.from(ts), lines };
  });
  await store.push('t', batch);
}
const head = store.logQuerier('t');
const window: LogSelectHints = { startNs: BigInt(t0) * 1_000_000n, endNs: BigInt(t + 1) * 1_000_000n };
const oneStream = [new Matcher('=', 'app', String(streams[0].labels.app))];
const needle = 'needle-that-is-absent';
const needleHints: LogSelectHints = { ...window, requiredSubstrings: [needle], lineFilter: (l) => l.includes(needle) };
const time = async (q: LogQuerier, m: Matcher[], h: LogSelectHints) => {
  const s = process.hrtime.bigint();
  const got = await q.selectLogs(m, h);
  return { ms: Number(process.hrtime.bigint() - s) / 1e6, entries: got.reduce((n, e) => n + e.lines.length, 0) };
};
const headOne = await time(head, oneStream, window);
const headNeedle = await time(head, [], needleHints);
const c0 = process.hrtime.bigint();
await store.flush('t');
const cutMs = Number(process.hrtime.bigint() - c0) / 1e6;
let fetched = 0;
const blocks = new BucketLogs({ bucket, onFetched: (n) => (fetched += n) });
await blocks.sync();
const [id] = blocks.blockIds('t');
const size = (f: string) => fs.statSync(path.join(dir, 'bucket', 't', 'logs', id, f)).size;
const q = blocks.logQuerier('t');
const f0 = fetched;
const bucketOne = await time(q, oneStream, window);
const fetchedOne = fetched - f0;
const f1 = fetched;
const bucketNeedleFirst = await time(q, [], needleHints);
// The second run: the files in the page cache, the code warm, as for the head above.
const bucketNeedle = await time(q, [], needleHints);
const fetchedNeedle = (fetched - f1) / 2;
const mb = (n: number) => (n / 1024 / 1024).toFixed(2);
console.log(`raw lines ${mb(raw)} MB in ${NSTREAMS} streams`);
console.log(
  `cut + upload ${cutMs.toFixed(0)} ms; chunks ${mb(size('chunks'))} MB (${(size('chunks') / raw).toFixed(3)} of raw), index ${(size('index') / 1024).toFixed(1)} KiB`,
);
console.log(
  `one stream: head ${headOne.ms.toFixed(1)} ms, bucket ${bucketOne.ms.toFixed(1)} ms, ${headOne.entries}/${bucketOne.entries} entries, fetched ${mb(fetchedOne)} MB`,
);
console.log(
  `absent needle over all: head ${headNeedle.ms.toFixed(1)} ms, bucket ${bucketNeedleFirst.ms.toFixed(1)} ms then ${bucketNeedle.ms.toFixed(1)} ms, fetched ${mb(fetchedNeedle)} MB`,
);
await store.close();
fs.rmSync(dir, { recursive: true, force: true });
