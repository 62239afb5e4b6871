import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels, Matcher } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { LogHead } from '../head/log-head.js';
import { LogStore } from '../store/log-store.js';
import type { LogQuerier, LogSelectHints } from '../types.js';
import { BucketLogs } from './bucket-logs.js';
import { mergeLogQueriers } from './merge-queriers.js';
import { LOG_CHUNKS_FILE, logBlocksPrefix, parseLogMeta } from './log-block.js';
import { SampledOutTally, sampledOutTotal } from '../ingest/sampled-out.js';

const STREAMS = [
  Labels.fromObject({ app: 'api', env: 'prod' }),
  Labels.fromObject({ app: 'api', env: 'dev' }),
  Labels.fromObject({ app: 'db' }),
];
const META = Labels.fromObject({ trace: 't1' });

type Op = { kind: 'push'; stream: number; ts: number; line: string; meta: boolean } | { kind: 'cut' };
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      stream: fc.nat(2),
      ts: fc.nat(40),
      line: fc.constantFrom('a', 'needle x', 'b needle', 'c'),
      meta: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'cut' as const }) },
);

function push(o: Extract<Op, { kind: 'push' }>) {
  const labels = STREAMS[o.stream];
  return {
    labels,
    labelsText: labels.toString(),
    timestampsNs: BigInt64Array.of(BigInt(o.ts) * 1_000_000_000n),
    lines: [o.line],
    metadata: o.meta ? [META] : undefined,
  };
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'strata-logblock-'));
}

async function read(q: LogQuerier, matchers: Matcher[], hints: LogSelectHints) {
  const got = await q.selectLogs(matchers, hints);
  return got
    .map((s) => [s.labels.key(), [...s.timestampsNs].map(String), s.lines, s.metadata?.map((m) => m?.key() ?? null) ?? null] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

const ALL: LogSelectHints = { startNs: -(2n ** 63n), endNs: 2n ** 63n - 1n };

/**
 * A bucket that copies the receiver's folder `from` to `to` just before or just after the upload
 * `at` names: the files a crash at that moment leaves behind.
 */
function copyingAtUpload(inner: FilesystemBucket, from: string, to: string, at: (name: string) => 'before' | 'after' | undefined) {
  return {
    upload: async (name: string, body: Parameters<FilesystemBucket['upload']>[1]) => {
      const when = at(name);
      if (when === 'before') fs.cpSync(from, to, { recursive: true });
      await inner.upload(name, body);
      if (when === 'after') fs.cpSync(from, to, { recursive: true });
    },
    exists: (name: string) => inner.exists(name),
  };
}

describe('log blocks in the bucket', () => {
  test('head + shipped blocks answer as one head holding every push (any cuts, windows, filters, limits)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 40 }),
        fc.nat(40),
        fc.nat(40),
        fc.option(fc.constant('needle'), { nil: undefined }),
        fc.option(fc.nat(4), { nil: undefined }),
        fc.constantFrom('forward' as const, 'backward' as const),
        fc.boolean(),
        async (ops, a, b, needle, limit, direction, keepShipped) => {
          const dir = tmp();
          const bucket = new FilesystemBucket(path.join(dir, 'bucket'));
          const store = await LogStore.open({
            dir: path.join(dir, 'logs'),
            fsync: 'none',
            cutIntervalMs: 0,
            bucket,
            keepShippedMs: keepShipped ? 3600_000 : 0,
          });
          const model = new LogHead();
          try {
            for (const o of ops) {
              if (o.kind === 'cut') await store.flush('t');
              else {
                const p = push(o);
                await store.push('t', [p]);
                model.append(p.labels, p.timestampsNs, p.lines, p.metadata);
              }
            }
            const blocks = new BucketLogs({ bucket });
            await blocks.sync();
            const [lo, hi] = a <= b ? [a, b] : [b, a];
            const hints: LogSelectHints = {
              startNs: BigInt(lo) * 1_000_000_000n,
              endNs: BigInt(hi + 1) * 1_000_000_000n,
              requiredSubstrings: needle ? [needle] : undefined,
              lineFilter: needle ? (l) => l.includes(needle) : undefined,
              limit,
              direction,
            };
            const q = mergeLogQueriers([blocks.logQuerier('t'), store.logQuerier('t')]);
            for (const m of [[], [new Matcher('=', 'app', 'api')], [new Matcher('=', 'app', 'db')]]) {
              expect(await read(q, m, hints)).toEqual(await read(model, m, hints));
              // Streams with an entry in the window are found; a head prunes by stream time range only, so
              // its answer may hold more, and the merged one never holds a stream the single head would not.
              const got = (await q.series(m, hints)).map((l) => l.key());
              const exact = (await model.selectLogs(m, { startNs: hints.startNs, endNs: hints.endNs })).map((e) => e.labels.key());
              const coarse = (await model.series(m, hints)).map((l) => l.key());
              for (const k of exact) expect(got).toContain(k);
              for (const k of got) expect(coarse).toContain(k);
            }
          } finally {
            await store.close();
            fs.rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      {
        numRuns: 40,
        // Found by a CI run: a repeat of a shipped entry that differs only in its metadata must
        // not replace the one first accepted.
        examples: [
          [
            [
              { kind: 'push', stream: 1, ts: 23, line: 'a', meta: false },
              { kind: 'cut' },
              { kind: 'push', stream: 1, ts: 23, line: 'a', meta: true },
            ],
            23,
            0,
            undefined,
            undefined,
            'forward',
            false,
          ],
        ],
      },
    );
  }, 120_000);

  test('after a ship the WAL before the cut is gone and a restart reads the same lines from head and bucket', async () => {
    const dir = tmp();
    const bucket = new FilesystemBucket(path.join(dir, 'bucket'));
    const open = () => LogStore.open({ dir: path.join(dir, 'logs'), fsync: 'batch', cutIntervalMs: 0, bucket });
    const pushes = Array.from({ length: 200 }, (_, i) =>
      push({ kind: 'push', stream: i % 3, ts: i, line: `line ${i}`, meta: i % 7 === 0 }),
    );
    let store = await open();
    try {
      for (const p of pushes.slice(0, 150)) await store.push('t', [p]);
      const walDir = store.walDir('t');
      const before = fs.readdirSync(walDir).sort();
      await store.flush('t');
      const after = fs.readdirSync(walDir).sort();
      // Every segment that held the shipped lines is removed; only the fresh one stays (empty).
      expect(after.filter((s) => before.includes(s))).toEqual([]);
      expect(after.map((s) => fs.statSync(path.join(walDir, s)).size)).toEqual([0]);
      for (const p of pushes.slice(150)) await store.push('t', [p]);
      await store.close();
      store = await open();
      const blocks = new BucketLogs({ bucket });
      await blocks.sync();
      expect(blocks.blockIds('t')).toHaveLength(1);
      expect((await read(store.logQuerier('t'), [], ALL)).flatMap((s) => s[2])).toHaveLength(50);
      const model = new LogHead();
      for (const p of pushes) model.append(p.labels, p.timestampsNs, p.lines, p.metadata);
      expect(await read(mergeLogQueriers([blocks.logQuerier('t'), store.logQuerier('t')]), [], ALL)).toEqual(await read(model, [], ALL));
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a crash between upload and WAL truncation neither loses nor repeats a line or a sampled-out count', async () => {
    const dir = tmp();
    const inner = new FilesystemBucket(path.join(dir, 'bucket'));
    const tenantDir = path.join(dir, 'logs', 't');
    const atCrash = path.join(dir, 'state-at-crash');
    // The receiver's files as a crash right after the block's meta.json upload leaves them.
    const bucket = copyingAtUpload(inner, tenantDir, atCrash, (name) => (name.endsWith('/meta.json') ? 'after' : undefined));
    const open = () => LogStore.open({ dir: path.join(dir, 'logs'), fsync: 'batch', cutIntervalMs: 0, bucket });
    const pushes = Array.from({ length: 60 }, (_, i) => push({ kind: 'push', stream: i % 3, ts: i, line: `line ${i}`, meta: false }));
    let store = await open();
    try {
      for (const p of pushes) await store.push('t', [p]);
      const tally = new SampledOutTally(Infinity);
      for (let i = 0; i < 3; i++) tally.add(STREAMS[0], BigInt(i) * 1_000_000_000n, 10);
      await store.recordSampledOut('t', tally);
      await store.flush('t');
      await store.close();
      fs.rmSync(tenantDir, { recursive: true });
      fs.cpSync(atCrash, tenantDir, { recursive: true });
      // The untruncated WAL is there, and so is the note of the block being shipped.
      expect(fs.readdirSync(path.join(tenantDir, 'wal')).some((f) => fs.statSync(path.join(tenantDir, 'wal', f)).size > 0)).toBe(true);
      store = await open();
      const blocks = new BucketLogs({ bucket: inner });
      await blocks.sync();
      const model = new LogHead();
      for (const p of pushes) model.append(p.labels, p.timestampsNs, p.lines, p.metadata);
      const merged = () => mergeLogQueriers([blocks.logQuerier('t'), store.logQuerier('t')]);
      expect(await read(merged(), [], ALL)).toEqual(await read(model, [], ALL));
      // The restarted head holds nothing the block has: the next cut ships no second copy.
      expect(await read(store.logQuerier('t'), [], ALL)).toEqual([]);
      expect(sampledOutTotal(await merged().sampledOut!([], ALL))).toEqual({ entries: 3, bytes: 30 });
      await store.flush('t');
      await blocks.sync();
      expect(blocks.blockIds('t')).toHaveLength(1);
      expect(sampledOutTotal(await merged().sampledOut!([], ALL))).toEqual({ entries: 3, bytes: 30 });
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a crash before the upload finished replays the WAL and ships it again', async () => {
    const dir = tmp();
    const inner = new FilesystemBucket(path.join(dir, 'bucket'));
    const tenantDir = path.join(dir, 'logs', 't');
    const atCrash = path.join(dir, 'state-at-crash');
    // The files as a crash after the chunks' upload and before meta.json leaves them (the block is partial).
    const bucket = copyingAtUpload(inner, tenantDir, atCrash, (name) => (name.endsWith('/index') ? 'before' : undefined));
    const open = (b: typeof bucket | FilesystemBucket) =>
      LogStore.open({ dir: path.join(dir, 'logs'), fsync: 'batch', cutIntervalMs: 0, bucket: b });
    const pushes = Array.from({ length: 20 }, (_, i) => push({ kind: 'push', stream: i % 3, ts: i, line: `line ${i}`, meta: false }));
    let store = await open(bucket);
    try {
      for (const p of pushes) await store.push('t', [p]);
      await store.flush('t');
      await store.close();
      // Only the partial upload's chunks and index stay in the bucket.
      const blocks = new BucketLogs({ bucket: inner });
      await blocks.sync();
      const [id] = blocks.blockIds('t');
      fs.rmSync(path.join(dir, 'bucket', logBlocksPrefix('t'), id, 'meta.json'));
      fs.rmSync(tenantDir, { recursive: true });
      fs.cpSync(atCrash, tenantDir, { recursive: true });
      store = await open(inner);
      const model = new LogHead();
      for (const p of pushes) model.append(p.labels, p.timestampsNs, p.lines, p.metadata);
      expect(await read(store.logQuerier('t'), [], ALL)).toEqual(await read(model, [], ALL));
      await store.flush('t');
      const after = new BucketLogs({ bucket: inner });
      await after.sync();
      expect(after.blockIds('t')).toHaveLength(1);
      expect(after.blockIds('t')).not.toContain(id);
      expect(await read(after.logQuerier('t'), [], ALL)).toEqual(await read(model, [], ALL));
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a query reads only the byte ranges of the streams and chunks it needs', async () => {
    const dir = tmp();
    const bucket = new FilesystemBucket(path.join(dir, 'bucket'));
    const store = await LogStore.open({ dir: path.join(dir, 'logs'), fsync: 'none', cutIntervalMs: 0, bucket });
    try {
      // Lines of 4 KiB so each stream fills several 256 KiB chunks.
      const big = 'x'.repeat(4096);
      for (let i = 0; i < 600; i++) await store.push('t', [push({ kind: 'push', stream: i % 3, ts: i, line: `${i} ${big}`, meta: false })]);
      await store.flush('t');
      let fetched = 0;
      const blocks = new BucketLogs({ bucket, onFetched: (n) => (fetched += n) });
      await blocks.sync();
      const [id] = blocks.blockIds('t');
      const total = fs.statSync(path.join(dir, 'bucket', logBlocksPrefix('t'), id, LOG_CHUNKS_FILE)).size;
      const got = await blocks.logQuerier('t').selectLogs([new Matcher('=', 'app', 'db')], { startNs: 0n, endNs: 30n * 1_000_000_000n });
      expect(got.map((s) => s.lines.length)).toEqual([10]);
      expect(fetched).toBeGreaterThan(0);
      // One stream of three, and of its chunks only the first: far less than a third of the file.
      expect(fetched).toBeLessThan(total / 6);

      // With a chunk cache the same query reads nothing more, and gives the same lines.
      const cached = new Map<string, Buffer>();
      const lookups: boolean[] = [];
      let fetchedC = 0;
      const withCache = new BucketLogs({
        bucket,
        onFetched: (n) => (fetchedC += n),
        cache: { get: (k) => cached.get(k), set: (k, v) => void cached.set(k, v) },
        onCacheLookup: (hit) => lookups.push(hit),
      });
      await withCache.sync();
      const q = () => withCache.logQuerier('t').selectLogs([new Matcher('=', 'app', 'db')], { startNs: 0n, endNs: 30n * 1_000_000_000n });
      const first = await q();
      const afterFirst = fetchedC;
      const second = await q();
      expect(fetchedC).toBe(afterFirst);
      expect(second).toEqual(first);
      expect(second).toEqual(got);
      expect(lookups).toEqual([false, true]);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('sampled-out counts survive a restart and the ship, and count once beside the shipped head', async () => {
    const dir = tmp();
    const bucket = new FilesystemBucket(path.join(dir, 'bucket'));
    const open = (keepShippedMs = 0) =>
      LogStore.open({ dir: path.join(dir, 'logs'), fsync: 'batch', cutIntervalMs: 0, bucket, keepShippedMs });
    const MIN = 60_000_000_000n;
    const api = [new Matcher('=', 'app', 'api')];
    const total = async (q: LogQuerier, m = api, h = ALL) => sampledOutTotal(await q.sampledOut!(m, h));
    let store = await open(60_000);
    try {
      await store.push('t', [push({ kind: 'push', stream: 0, ts: 1, line: 'kept', meta: false })]);
      // Sampled out of this receiver's pushes, streams held here or not (the db stream is owned elsewhere).
      const tally = new SampledOutTally(Infinity);
      tally.add(STREAMS[0], 5n * MIN, 10);
      tally.add(STREAMS[1], 5n * MIN + 1n, 20);
      tally.add(STREAMS[0], 7n * MIN, 30);
      tally.add(STREAMS[2], 6n * MIN, 7);
      await store.recordSampledOut('t', tally);
      const want = { entries: 3, bytes: 60 };
      const minute7 = { startNs: 7n * MIN, endNs: 8n * MIN };
      expect(await total(store.logQuerier('t'))).toEqual(want);
      await store.close();
      store = await open(60_000);
      expect(await total(store.logQuerier('t'))).toEqual(want);
      expect(await total(store.logQuerier('t'), api, minute7)).toEqual({ entries: 1, bytes: 30 });

      await store.flush('t');
      const blocks = new BucketLogs({ bucket });
      await blocks.sync();
      const [id] = blocks.blockIds('t');
      const meta = parseLogMeta(fs.readFileSync(path.join(dir, 'bucket', logBlocksPrefix('t'), id, 'meta.json'), 'utf8'), id);
      // Its range spans the line (at 1 s) and the minutes of the counts (up to the end of minute 7).
      expect([meta.stats.sampledOutEntries, meta.stats.sampledOutBytes, meta.minTime, meta.maxTime]).toEqual([4, 67, 1000, 8 * 60_000]);
      // The shipped head is still read beside its block: both answer under the block's ULID.
      expect(await total(blocks.logQuerier('t'))).toEqual(want);
      expect(await total(mergeLogQueriers([blocks.logQuerier('t'), store.logQuerier('t')]))).toEqual(want);
      expect(await total(mergeLogQueriers([blocks.logQuerier('t'), store.logQuerier('t')]), [], minute7)).toEqual({
        entries: 1,
        bytes: 30,
      });
      await store.close();
      store = await open();
      expect(await total(store.logQuerier('t'))).toEqual({ entries: 0, bytes: 0 });
      expect(await total(mergeLogQueriers([blocks.logQuerier('t'), store.logQuerier('t')]))).toEqual(want);

      // A head that took no line but left some out (every stream owned by others) becomes a block too.
      const only = new SampledOutTally(Infinity);
      only.add(STREAMS[2], 9n * MIN, 5);
      await store.recordSampledOut('t', only);
      await store.flush('t');
      await blocks.sync();
      expect(blocks.blockIds('t')).toHaveLength(2);
      expect(await total(blocks.logQuerier('t'), [new Matcher('=', 'app', 'db')])).toEqual({ entries: 2, bytes: 12 });
      expect(await blocks.logQuerier('t').selectLogs([], ALL)).toHaveLength(1);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
