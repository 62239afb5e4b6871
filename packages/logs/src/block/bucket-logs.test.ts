import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { LogStore } from '../store/log-store.js';
import type { LogQuerier, LogSelectHints } from '../types.js';
import { SampledOutTally, sampledOutTotal } from '../ingest/sampled-out.js';
import { BucketLogs, LOG_DELETION_MARK_FILE } from './bucket-logs.js';
import { LOG_CHUNKS_FILE, LOG_INDEX_FILE, LOG_META_FILE, logBlocksPrefix, parseLogIndexWithSampledOut, parseLogMeta } from './log-block.js';
import { mergeLogBlocks } from './merge-log-blocks.js';

const API = Labels.fromObject({ app: 'api' });
const DB = Labels.fromObject({ app: 'db' });
const ALL: LogSelectHints = { startNs: -(2n ** 63n), endNs: 2n ** 63n - 1n };
const S = 1_000_000_000n;

/** Every entry of the answer as `labels ts line`, sorted, repeats kept. */
async function lines(q: LogQuerier, m: Matcher[] = []): Promise<string[]> {
  const out: string[] = [];
  for (const s of await q.selectLogs(m, ALL))
    for (let i = 0; i < s.lines.length; i++) out.push(`${s.labels} ${s.timestampsNs[i]} ${s.lines[i]}`);
  return out.sort();
}

async function counted(q: LogQuerier, m: Matcher[] = []) {
  return sampledOutTotal(await q.sampledOut!(m, ALL));
}

interface Fixture {
  dir: string;
  bucket: FilesystemBucket;
  root: string;
  /** Shipped blocks, oldest first, and the lines of each (`labels ts line`). */
  shipped: { id: string; lines: string[] }[];
}

/**
 * Two blocks shipped by a receiver: the first holds `api` lines at 0..9 s and 3 lines sampled out of
 * `api`; the second `db` lines at 10..19 s and 2 sampled out of `db`.
 */
async function twoBlocks(): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bucketlogs-'));
  const bucket = new FilesystemBucket(path.join(dir, 'bucket'));
  const store = await LogStore.open({ dir: path.join(dir, 'logs'), fsync: 'none', cutIntervalMs: 0, bucket });
  const shipped: Fixture['shipped'] = [];
  try {
    for (const [labels, from, dropped] of [
      [API, 0, 3],
      [DB, 10, 2],
    ] as const) {
      const want: string[] = [];
      for (let i = from; i < from + 10; i++) {
        const line = `${labels.get('app')} line ${i}`;
        await store.push('t', [
          { labels, labelsText: labels.toString(), timestampsNs: BigInt64Array.of(BigInt(i) * S), lines: [line], metadata: undefined },
        ]);
        want.push(`${labels} ${BigInt(i) * S} ${line}`);
      }
      const tally = new SampledOutTally(Infinity);
      for (let i = 0; i < dropped; i++) tally.add(labels, BigInt(from + i) * S + 1n, 10);
      await store.recordSampledOut('t', tally);
      const before = new Set(
        fs.existsSync(path.join(dir, 'bucket', 't', 'logs')) ? fs.readdirSync(path.join(dir, 'bucket', 't', 'logs')) : [],
      );
      await store.flush('t');
      const [id] = fs.readdirSync(path.join(dir, 'bucket', 't', 'logs')).filter((d) => !before.has(d));
      shipped.push({ id, lines: want.sort() });
    }
  } finally {
    await store.close();
  }
  return { dir, bucket, root: path.join(dir, 'bucket', logBlocksPrefix('t')), shipped };
}

/** The compactor's merge of the blocks into one, uploaded meta.json last, with the sources in its meta.json. */
async function compact(f: Fixture, ulid: string): Promise<void> {
  const sources = await Promise.all(
    f.shipped.map(async ({ id }) => {
      const dir = `${logBlocksPrefix('t')}${id}/`;
      const index = parseLogIndexWithSampledOut((await f.bucket.get(dir + LOG_INDEX_FILE)).toString(), id);
      const data = await f.bucket.get(dir + LOG_CHUNKS_FILE);
      return {
        ulid: id,
        streams: index.streams,
        sampledOut: index.sampledOut,
        read: async (o: number, n: number) => data.subarray(o, o + n),
      };
    }),
  );
  const parts: Buffer[] = [];
  const r = await mergeLogBlocks(ulid, sources, async (d) => void parts.push(Buffer.from(d)), {
    compaction: { level: 2, sources: f.shipped.map((s) => s.id) },
  });
  const dir = `${logBlocksPrefix('t')}${ulid}/`;
  await f.bucket.upload(dir + LOG_CHUNKS_FILE, Buffer.concat(parts));
  await f.bucket.upload(dir + LOG_INDEX_FILE, r!.index);
  await f.bucket.upload(dir + LOG_META_FILE, Buffer.from(JSON.stringify(r!.meta)));
}

function markForDeletion(f: Fixture, id: string, atMs: number): void {
  const mark = { id, deletion_time: Math.floor(atMs / 1000), version: 1 };
  fs.writeFileSync(path.join(f.root, id, LOG_DELETION_MARK_FILE), JSON.stringify(mark));
}

const COMPACTED = '7ZZZZZZZZZZZZZZZZZZZZZZZZZ';

describe('BucketLogs sync', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await twoBlocks();
  });
  afterEach(() => fs.rmSync(f.dir, { recursive: true, force: true }));

  test('a loaded block whose meta.json is deleted (its other files left) is dropped from answers at the next sync', async () => {
    const [a, b] = f.shipped;
    const blocks = new BucketLogs({ bucket: f.bucket });
    await blocks.sync();
    expect(blocks.blockIds('t')).toEqual([a.id, b.id]);
    expect(await lines(blocks.logQuerier('t'))).toEqual([...a.lines, ...b.lines].sort());
    expect(await counted(blocks.logQuerier('t'))).toEqual({ entries: 5, bytes: 50 });

    const running = blocks.logQuerier('t');
    fs.rmSync(path.join(f.root, a.id, LOG_META_FILE));
    await blocks.sync();
    expect(fs.readdirSync(path.join(f.root, a.id)).sort()).toEqual([LOG_CHUNKS_FILE, LOG_INDEX_FILE]);
    expect(blocks.blockIds('t')).toEqual([b.id]);
    expect(await lines(blocks.logQuerier('t'))).toEqual(b.lines);
    expect(await lines(blocks.logQuerier('t'), [new Matcher('=', 'app', 'api')])).toEqual([]);
    expect(await counted(blocks.logQuerier('t'))).toEqual({ entries: 2, bytes: 20 });
    expect(await counted(blocks.logQuerier('t'), [new Matcher('=', 'app', 'api')])).toEqual({ entries: 0, bytes: 0 });
    expect((await blocks.logQuerier('t').series([], ALL)).map(String)).toEqual([DB.toString()]);
    expect(blocks.info().t.blocks).toBe(1);
    // A query that took the blocks before the sync still reads what is left of the dropped one.
    expect(await lines(running)).toEqual([...a.lines, ...b.lines].sort());
  });

  test('beside its compacted replacement a half-deleted source leaves every line and sampled-out count once', async () => {
    const [a, b] = f.shipped;
    const every = [...a.lines, ...b.lines].sort();
    const cached = new Map<string, Buffer>();
    const blocks = new BucketLogs({
      bucket: f.bucket,
      cache: { get: (k) => cached.get(k), set: (k, v) => void cached.set(k, v), delete: (k) => void cached.delete(k) },
    });
    await blocks.sync();
    expect(await lines(blocks.logQuerier('t'))).toEqual(every);
    await compact(f, COMPACTED);
    await blocks.sync();
    expect(blocks.blockIds('t')).toEqual([a.id, b.id, COMPACTED]);
    expect(await lines(blocks.logQuerier('t'))).toEqual(every);
    expect(await counted(blocks.logQuerier('t'))).toEqual({ entries: 5, bytes: 50 });
    const ofA = [...cached.keys()].filter((k) => k.includes(a.id));
    expect(ofA.length).toBeGreaterThan(0);

    // The compactor's deletion of the first source stopped after meta.json and its index.
    fs.rmSync(path.join(f.root, a.id, LOG_META_FILE));
    fs.rmSync(path.join(f.root, a.id, LOG_INDEX_FILE));
    await blocks.sync();
    expect(blocks.blockIds('t')).toEqual([b.id, COMPACTED]);
    expect(await lines(blocks.logQuerier('t'))).toEqual(every);
    expect(await counted(blocks.logQuerier('t'))).toEqual({ entries: 5, bytes: 50 });
    expect(await counted(blocks.logQuerier('t'), [new Matcher('=', 'app', 'api')])).toEqual({ entries: 3, bytes: 30 });
    // The dropped source's chunks left the cache.
    expect([...cached.keys()].filter((k) => k.includes(a.id))).toEqual([]);

    // A new reader never loads the half-deleted source, and answers the same.
    const fresh = new BucketLogs({ bucket: f.bucket });
    await fresh.sync();
    expect(fresh.blockIds('t')).toEqual([b.id, COMPACTED]);
    expect(await lines(fresh.logQuerier('t'))).toEqual(every);
    expect(await counted(fresh.logQuerier('t'))).toEqual({ entries: 5, bytes: 50 });
  });

  test('a source marked for deletion is served until the deletion delay has passed since its mark, then dropped', async () => {
    const [a, b] = f.shipped;
    const every = [...a.lines, ...b.lines].sort();
    let now = Date.parse('2026-01-01T00:00:00Z');
    const blocks = new BucketLogs({ bucket: f.bucket, deletionDelayMs: 3600_000, now: () => now });
    await blocks.sync();
    await compact(f, COMPACTED);
    markForDeletion(f, a.id, now);
    markForDeletion(f, b.id, now);
    await blocks.sync();
    expect(blocks.blockIds('t')).toEqual([a.id, b.id, COMPACTED]);
    expect(await lines(blocks.logQuerier('t'))).toEqual(every);
    expect(await counted(blocks.logQuerier('t'))).toEqual({ entries: 5, bytes: 50 });

    now += 3599_000;
    await blocks.sync();
    expect(blocks.blockIds('t')).toEqual([a.id, b.id, COMPACTED]);
    now += 1000;
    await blocks.sync();
    expect(blocks.blockIds('t')).toEqual([COMPACTED]);
    expect(await lines(blocks.logQuerier('t'))).toEqual(every);
    expect(await counted(blocks.logQuerier('t'))).toEqual({ entries: 5, bytes: 50 });
    // Nor does a reader starting now load them; one that does not read marks does, until meta.json goes.
    const fresh = new BucketLogs({ bucket: f.bucket, deletionDelayMs: 3600_000, now: () => now });
    await fresh.sync();
    expect(fresh.blockIds('t')).toEqual([COMPACTED]);
    const unmarked = new BucketLogs({ bucket: f.bucket });
    await unmarked.sync();
    expect(unmarked.blockIds('t')).toEqual([a.id, b.id, COMPACTED]);
    expect(parseLogMeta(fs.readFileSync(path.join(f.root, COMPACTED, LOG_META_FILE), 'utf8'), COMPACTED).compaction?.sources).toEqual([
      a.id,
      b.id,
    ]);
  });
});
