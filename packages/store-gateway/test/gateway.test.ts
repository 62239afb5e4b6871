import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher, StrataError } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { owners } from '@strata/ring';
import { Shipper, TSDB } from '@strata/tsdb';
import { StoreGateway } from '../src/index.js';
import type { StoreGatewayOptions } from '../src/gateway.js';
import { gatewayTestOptions } from './gateway-options.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-sg-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const RANGE = 30 * 60_000;
const all = [new Matcher('=', '__name__', 'm')];
let bucketDir: string;
let total = 0;

beforeAll(async () => {
  // 4 h of data for 5 series, cut into 30 min blocks and shipped to a local-folder bucket.
  const db = await TSDB.open({
    dir: tmp(),
    fsync: 'none',
    blockDurationMs: RANGE,
    head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 },
  });
  const t = await db.tenant('team-a');
  total = (4 * 3600_000) / 15_000;
  for (let i = 0; i < total; i++) {
    const app = t.appender();
    for (let s = 0; s < 5; s++) app.append(app.ref(Labels.fromObject({ __name__: 'm', s: String(s) })), i * 15_000, i + s);
    await app.commit();
  }
  await db.compactAll(true);
  bucketDir = tmp();
  await new Shipper({
    bucket: new FilesystemBucket(bucketDir),
    prefix: 'team-a/',
    blocksDir: t.blocksDir,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  }).sync();
  await db.close();
});

function gateway(dataDir: string, extra: Partial<StoreGatewayOptions> = {}): StoreGateway {
  return new StoreGateway({ ...baseOptions(dataDir), ...extra });
}

async function countSamples(g: StoreGateway): Promise<number[]> {
  const series = await g.querier('team-a').select(all, { start: -Infinity, end: Infinity });
  return series.map((s) => s.timestamps.length);
}

test('serves every sample of the shipped blocks; a cold restart opens blocks from local index headers', async () => {
  const data = tmp();
  const g = gateway(data);
  await g.start();
  expect(g.info()['team-a'].blocks).toBe(total / 120);
  expect(await countSamples(g)).toEqual([total, total, total, total, total]);
  await g.stop();
  // Restart: headers come from local disk, so opening blocks reads nothing of the indexes' header parts.
  const again = gateway(data);
  await again.start();
  const before = again.bytesFetched;
  await again.querier('team-a').labelNames([], { start: -Infinity, end: Infinity });
  expect(again.bytesFetched - before).toBe(0);
  expect(await countSamples(again)).toEqual([total, total, total, total, total]);
  await again.stop();
  // Local headers deleted: downloaded from the bucket (built once at block write time).
  fs.rmSync(data, { recursive: true, force: true });
  const fresh = gateway(data);
  await fresh.start();
  expect(await countSamples(fresh)).toEqual([total, total, total, total, total]);
  await fresh.stop();
});

test('two gateways with replication factor 2: either one alone still serves every block', async () => {
  const members = ['g1', 'g2'];
  for (const self of members) {
    const g = gateway(tmp(), { members, self, replicationFactor: 2 });
    await g.start();
    expect(await countSamples(g)).toEqual([total, total, total, total, total]);
    await g.stop();
  }
  // Without replication the blocks are split between the two.
  const split = await Promise.all(
    members.map(async (self) => {
      const g = gateway(tmp(), { members, self, replicationFactor: 1 });
      await g.start();
      const n = g.info()['team-a']?.blocks ?? 0;
      await g.stop();
      return n;
    }),
  );
  // Block IDs are random, so which gateway wins each is too: compare with the ring's own choice
  // (a fixed "both hold some" would fail whenever every random ID falls to one member).
  const ids = fs.readdirSync(path.join(bucketDir, 'team-a')).filter((d) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(d));
  expect(ids).toHaveLength(total / 120);
  expect(split).toEqual(members.map((m) => ids.filter((id) => owners(id, members, 1)[0] === m).length));
});

test('a query over the limit fails with the limit error, and the gateway keeps serving others', async () => {
  const g = gateway(tmp(), { limits: { maxSeriesPerQuery: 0, maxChunksPerQuery: 10, maxBytesPerQuery: 0 } });
  await g.start();
  const err = await g
    .querier('team-a')
    .select(all, { start: -Infinity, end: Infinity })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(StrataError);
  expect((err as StrataError).id).toBe('query-max-chunks');
  expect((err as Error).message).toMatch(/--store-gateway.max-chunks-per-query/);
  const small = await g.querier('team-a').select([new Matcher('=', 's', '1')], { start: 0, end: RANGE - 1 });
  expect(small[0].timestamps.length).toBe(120);
  await g.stop();
});

test('a block without an index header in the bucket is opened by building one from the index', async () => {
  const copy = tmp();
  fs.cpSync(bucketDir, copy, { recursive: true });
  for (const d of fs.readdirSync(path.join(copy, 'team-a'))) fs.rmSync(path.join(copy, 'team-a', d, 'index-header'), { force: true });
  const g = new StoreGateway({ ...baseOptions(tmp()), bucket: new FilesystemBucket(copy) });
  await g.start();
  expect(
    await g
      .querier('team-a')
      .select(all, { start: -Infinity, end: Infinity })
      .then((s) => s.map((x) => x.timestamps.length)),
  ).toEqual([total, total, total, total, total]);
  await g.stop();
});

test('blocks with a deletion mark stop being served once the delay has passed', async () => {
  const copy = tmp();
  fs.cpSync(bucketDir, copy, { recursive: true });
  const victim = fs.readdirSync(path.join(copy, 'team-a')).sort()[0];
  fs.writeFileSync(
    path.join(copy, 'team-a', victim, 'deletion-mark.json'),
    JSON.stringify({ id: victim, version: 1, deletion_time: Math.floor(Date.now() / 1000) }),
  );
  const delayed = new StoreGateway({ ...baseOptions(tmp()), bucket: new FilesystemBucket(copy), deletionDelayMs: 3600_000 });
  await delayed.start();
  expect(delayed.info()['team-a'].blocks).toBe(total / 120); // still within the delay
  await delayed.stop();
  const now = new StoreGateway({ ...baseOptions(tmp()), bucket: new FilesystemBucket(copy), deletionDelayMs: 0 });
  await now.start();
  expect(now.info()['team-a'].blocks).toBe(total / 120 - 1);
  await now.stop();
});

function baseOptions(dataDir: string): StoreGatewayOptions {
  return gatewayTestOptions(new FilesystemBucket(bucketDir), dataDir);
}

test('blocks served elsewhere in the process (skipBlock) are neither listed nor read', async () => {
  const g = gateway(tmp());
  await g.start();
  const ulids = g.tenantBlocks('team-a').map((b) => b.meta.ulid);
  const skipped = new Set(ulids.filter((_, i) => i % 2 === 0));
  await g.stop();
  const partial = gateway(tmp(), { skipBlock: (tenant, ulid) => tenant === 'team-a' && skipped.has(ulid) });
  await partial.start();
  expect(partial.info()['team-a'].blocks).toBe(ulids.length - skipped.size);
  const fetched = partial.bytesFetched;
  // Each remaining block holds 120 samples of each series (30 min at 15 s).
  expect(await countSamples(partial)).toEqual(Array(5).fill((ulids.length - skipped.size) * 120));
  expect(partial.bytesFetched).toBeGreaterThan(fetched);
  // A range covered only by skipped blocks reads nothing from the bucket.
  const first = partial.tenantBlocks('team-a')[0].meta;
  expect(skipped.has(first.ulid)).toBe(false);
  const before = partial.bytesFetched;
  const none = await partial.querier('team-a').select(all, { start: first.minTime - RANGE, end: first.minTime - 1 });
  expect(none).toEqual([]);
  expect(partial.bytesFetched - before).toBe(0);
  await partial.stop();
});

test('a compacted block whose sources are all served elsewhere in the process is left out too; one with a source held nowhere else is read', async () => {
  const copy = tmp();
  fs.cpSync(bucketDir, copy, { recursive: true });
  const ulids = fs
    .readdirSync(path.join(copy, 'team-a'))
    .filter((d) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(d))
    .sort();
  // A level-2 block made of the first two (its data the first's: only its meta matters here).
  const merged = '01ZZZZZZZZZZZZZZZZZZZZZZZZ';
  fs.cpSync(path.join(copy, 'team-a', ulids[0]), path.join(copy, 'team-a', merged), { recursive: true });
  const metaFile = path.join(copy, 'team-a', merged, 'meta.json');
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  meta.ulid = merged;
  meta.compaction = { ...meta.compaction, level: 2, sources: [ulids[0], ulids[1]] };
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  const listed = async (local: Set<string>) => {
    const g = gateway(tmp(), { bucket: new FilesystemBucket(copy), skipBlock: (t, u) => t === 'team-a' && local.has(u) });
    await g.start();
    const got = g.tenantBlocks('team-a').map((b) => b.meta.ulid);
    await g.stop();
    return got;
  };
  expect(await listed(new Set([ulids[0], ulids[1]]))).not.toContain(merged);
  expect(await listed(new Set([ulids[0]]))).toContain(merged);
  expect(await listed(new Set())).toContain(merged);
});

test.each([
  ['no thanos section (promtool create-blocks-from, a plain Prometheus block)', undefined, true],
  ['thanos.source sidecar (a Thanos sidecar upload)', 'sidecar', true],
  ['thanos.source receive (a receiver ships what its head served)', 'receive', false],
  ['thanos.source compactor (merges and rollups restate their sources)', 'compactor', false],
])('a block appearing after the first sync with %s (source %s): reported as a backfill: %s', async (_what, source, reported) => {
  const copy = tmp();
  fs.cpSync(bucketDir, copy, { recursive: true });
  const heard: [string, number, number][] = [];
  const g = gateway(tmp(), { bucket: new FilesystemBucket(copy), onBackfill: (t, min, max) => heard.push([t, min, max]) });
  await g.start();
  // The blocks the first sync finds are the starting point, whoever wrote them.
  expect(heard).toEqual([]);
  const first = fs.readdirSync(path.join(copy, 'team-a')).find((d) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(d))!;
  const added = '01ZZZZZZZZZZZZZZZZZZZZZZZY';
  fs.cpSync(path.join(copy, 'team-a', first), path.join(copy, 'team-a', added), { recursive: true });
  const metaFile = path.join(copy, 'team-a', added, 'meta.json');
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  meta.ulid = added;
  if (source === undefined) delete meta.thanos;
  else meta.thanos = { ...meta.thanos, source };
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  await g.sync();
  expect(g.tenantBlocks('team-a').map((b) => b.meta.ulid)).toContain(added);
  expect(heard).toEqual(reported ? [['team-a', meta.minTime, meta.maxTime - 1]] : []);
  // Found once: later syncs do not report it again.
  await g.sync();
  expect(heard).toHaveLength(reported ? 1 : 0);
  await g.stop();
});
