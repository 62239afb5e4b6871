/** Bucket prefixes that are no valid tenant ID are never served, nor mirrored into local folders. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { Shipper, TSDB } from '@strata/tsdb';
import { StoreGateway } from '../src/index.js';
import { gatewayTestOptions } from './gateway-options.js';

test('only folders named like tenants are served', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-sg-tenants-'));
  try {
    const db = await TSDB.open({
      dir: path.join(root, 'tsdb'),
      fsync: 'none',
      blockDurationMs: 3600_000,
      head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 },
    });
    const t = await db.tenant('team-a');
    const app = t.appender();
    app.append(app.ref(Labels.fromObject({ __name__: 'm' })), 1000, 1);
    await app.commit();
    await db.compactAll(true);
    const bucketDir = path.join(root, 'bucket');
    // The same block under a valid tenant and under prefixes no tenant ID can be.
    await new Shipper({
      bucket: new FilesystemBucket(bucketDir),
      prefix: 'team-a/',
      blocksDir: t.blocksDir,
      localRetentionMs: Infinity,
      dropLocal: async () => undefined,
    }).sync();
    for (const other of ['team a', 'tëam', '__mimir_cluster'])
      fs.cpSync(path.join(bucketDir, 'team-a'), path.join(bucketDir, other), { recursive: true });
    await db.close();
    expect(fs.readdirSync(bucketDir).sort()).toEqual(['__mimir_cluster', 'team a', 'team-a', 'tëam']);
    const dataDir = path.join(root, 'sg');
    const g = new StoreGateway(gatewayTestOptions(new FilesystemBucket(bucketDir), dataDir));
    await g.start();
    expect(Object.keys(g.info())).toEqual(['team-a']);
    expect(await g.querier('team a').select([new Matcher('=', '__name__', 'm')], { start: -Infinity, end: Infinity })).toEqual([]);
    expect((await g.querier('team-a').select([new Matcher('=', '__name__', 'm')], { start: -Infinity, end: Infinity })).length).toBe(1);
    expect(fs.readdirSync(dataDir)).toEqual(['team-a']);
    await g.stop();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
