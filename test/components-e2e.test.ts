/**
 * The split deployment: a receiver ships blocks to a shared bucket, two store gateways serve
 * them with replication factor 2, and a querier fans out to all three with remote-read.
 * Stopping one gateway leaves every block served; a failed store fails the query by name unless
 * partial_response=true, which answers with a warning.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { freePort, getJson, pushV1, startStrata, stop, tempDir, waitForShippedBlocks, type Strata } from './harness.js';

jest.setTimeout(240_000);

const STEP = 60_000;
const end = Math.floor(Date.now() / STEP) * STEP;
const start = end - 4 * 3600_000;

test('receiver + 2 store gateways (RF 2) + querier over one bucket', async () => {
  const bucketDir = tempDir('shared-bucket');
  const objstore = path.join(tempDir('cfg'), 'bucket.yml');
  fs.writeFileSync(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
  const common = [`--objstore.config-file=${objstore}`];
  const receiver = await startStrata({
    component: 'receiver',
    args: [
      ...common,
      '--tsdb.block-duration=1h',
      '--tsdb.compaction-interval=1s',
      '--tsdb.retention.local=0s',
      '--receiver.out-of-order-window=0s',
    ],
  });
  const procs: Strata[] = [receiver];
  try {
    const series = ['a', 'b', 'c'].map((job, j) => ({
      labels: Labels.fromObject({ __name__: 'split_total', job }),
      timestamps: Array.from({ length: 241 }, (_, i) => start + i * STEP),
      values: Array.from({ length: 241 }, (_, i) => i * (j + 1)),
    }));
    expect(await pushV1(receiver.url, series)).toBe(204);
    await waitForShippedBlocks(path.join(bucketDir, 'anonymous'), 2);
    const gwArgs = (name: string) => [
      ...common,
      '--store-gateway.members=g1,g2',
      `--store-gateway.name=${name}`,
      '--store-gateway.replication-factor=2',
      '--store-gateway.sync-interval=1s',
    ];
    const g1 = await startStrata({ component: 'store-gateway', args: gwArgs('g1') });
    const g2 = await startStrata({ component: 'store-gateway', args: gwArgs('g2') });
    procs.push(g1, g2);
    const querierPort = await freePort();
    const querier = await startStrata({
      component: 'querier',
      port: querierPort,
      args: [`--querier.stores=${receiver.url},${g1.url},${g2.url}`],
    });
    procs.push(querier);
    const count = async (extra = '') =>
      getJson(`${querier.url}/api/v1/query?query=${encodeURIComponent('count_over_time(split_total[5h])')}&time=${end / 1000}${extra}`);
    const full = ['241', '241', '241'];
    const values = (r: { data: { result: { value: [number, string] }[] } }) => r.data.result.map((x) => x.value[1]);
    expect(values(await count())).toEqual(full); // replicas (g1, g2, receiver head) de-duplicated
    await stop(g1);
    // g2 alone still serves every block, but the querier must say that g1 is down...
    const failed = await count();
    expect(failed).toMatchObject({ status: 'error', errorType: 'unavailable' });
    expect(failed.error).toContain(g1.url);
    // ...unless the query accepts a partial response.
    const partial = await count('&partial_response=true');
    expect(values(partial)).toEqual(full);
    expect(partial.warnings.join(' ')).toContain(g1.url);
  } finally {
    for (const p of procs.reverse()) await stop(p);
  }
});
