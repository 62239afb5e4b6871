import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { buildLogBlock, encodeBlock, uploadLogBlock } from '@strata/logs';
import { owners } from '@strata/ring';
import { ulid } from '@strata/tsdb';
import { StoreGateway } from '../src/gateway.js';
import { gatewayTestOptions } from './gateway-options.js';

const S = 1_000_000_000n;

describe('store gateway over log blocks', () => {
  test('finds log blocks at sync, answers through its chunk cache, drops a deleted block at the next sync', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-gwlogs-'));
    const bucket = new FilesystemBucket(path.join(dir, 'bucket'));
    const gw = new StoreGateway({ ...gatewayTestOptions(bucket, path.join(dir, 'gw')), logs: true });
    try {
      const api = Labels.fromObject({ app: 'api' });
      const db = Labels.fromObject({ app: 'db' });
      const id = ulid();
      const block = buildLogBlock(id, [
        { labels: api, blocks: [await encodeBlock(BigInt64Array.of(1n * S, 2n * S), ['GET /', 'GET /x'], undefined, 'zstd')] },
        { labels: db, blocks: [await encodeBlock(BigInt64Array.of(3n * S), ['slow query'], undefined, 'snappy')] },
      ])!;
      await uploadLogBlock(bucket, 't1', block);
      // Metric blocks of the same tenant are unaffected: the gateway has none to load.
      await gw.sync();
      expect(gw.info()).toEqual({});
      expect(gw.logs!.info()).toEqual({ t1: { minTime: 1000, maxTime: 3001, blocks: 1 } });
      const q = () => gw.logs!.logQuerier('t1').selectLogs([new Matcher('=~', 'app', '.+')], { startNs: 0n, endNs: 10n * S });
      const rows = async () => (await q()).map((s) => [s.labels.toString(), [...s.timestampsNs], s.lines]);
      const want = [
        ['{app="api"}', [1n * S, 2n * S], ['GET /', 'GET /x']],
        ['{app="db"}', [3n * S], ['slow query']],
      ];
      expect(await rows()).toEqual(want);
      const fetched = gw.bytesFetched;
      expect(fetched).toBe(block.meta.stats.chunkBytes);
      expect(await rows()).toEqual(want);
      expect(gw.bytesFetched).toBe(fetched);
      expect(await gw.logs!.logQuerier('other').selectLogs([], { startNs: 0n, endNs: 10n * S })).toEqual([]);

      for (const f of ['meta.json', 'index', 'chunks']) await bucket.delete(`t1/logs/${id}/${f}`);
      await gw.sync();
      expect(gw.logs!.info()).toEqual({});
      expect(await q()).toEqual([]);
    } finally {
      await gw.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([1, 2])('log blocks are sharded over the gateways as metric blocks are (3 gateways, replication factor %i)', async (rf) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-gwlogs-'));
    const bucket = new FilesystemBucket(path.join(dir, 'bucket'));
    const members = ['g1', 'g2', 'g3'];
    const gws = members.map(
      (self) =>
        new StoreGateway({
          ...gatewayTestOptions(bucket, path.join(dir, self)),
          logs: true,
          members,
          self,
          replicationFactor: rf,
        }),
    );
    try {
      // One block per second of lines, each its own stream value, so an answer shows which blocks it read.
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const id = ulid();
        ids.push(id);
        const labels = Labels.fromObject({ app: 'api', block: String(i) });
        const ts = BigInt(i + 1) * S;
        await uploadLogBlock(
          bucket,
          't1',
          buildLogBlock(id, [{ labels, blocks: [await encodeBlock(BigInt64Array.of(ts), [`line ${i}`], undefined, 'snappy')] }])!,
        );
      }
      const served: string[][] = [];
      for (const gw of gws) {
        await gw.sync();
        const got = await gw.logs!.logQuerier('t1').selectLogs([new Matcher('=', 'app', 'api')], { startNs: 0n, endNs: 100n * S });
        served.push(got.map((s) => ids[Number(s.labels.get('block'))]).sort());
      }
      // Each gateway serves exactly the blocks the ring gives it; together every block rf times.
      for (let g = 0; g < members.length; g++) {
        expect(served[g]).toEqual(ids.filter((id) => owners(id, members, rf).includes(members[g])).sort());
      }
      const counts = new Map<string, number>();
      for (const list of served) for (const id of list) counts.set(id, (counts.get(id) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual([...ids].sort());
      expect(new Set(counts.values())).toEqual(new Set([rf]));
      if (rf === 1) expect(served.filter((l) => l.length > 0).length).toBeGreaterThan(1);
    } finally {
      for (const gw of gws) await gw.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
