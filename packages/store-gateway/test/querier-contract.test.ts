/**
 * The Querier contract (model/test/querier-contract.ts) against the store gateway: the dataset
 * cut into blocks by a TSDB, shipped to a local-folder bucket, and served from there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Series } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { decodeRawSeries, Shipper, TSDB } from '@strata/tsdb';
import { BLOCK_MS, forEachSampleInTimeOrder, querierContract } from '../../model/test/querier-contract.js';
import { StoreGateway } from '../src/index.js';
import { gatewayTestOptions } from './gateway-options.js';

const TENANT = 'contract';

querierContract(
  'store gateway over a local-folder bucket',
  async (ds) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-sg-qc-'));
    const db = await TSDB.open({
      dir: path.join(root, 'tsdb'),
      fsync: 'none',
      blockDurationMs: BLOCK_MS,
      compactIntervalMs: 0,
      head: { outOfOrderWindowMs: 0, maxSeries: 0 },
    });
    const t = await db.tenant(TENANT);
    const app = t.appender();
    const refs = new Map<Series, number>();
    forEachSampleInTimeOrder(ds, (s, ts, v) => {
      let ref = refs.get(s);
      if (ref === undefined) refs.set(s, (ref = app.ref(s.labels)));
      app.append(ref, ts, v);
    });
    await app.commit();
    const metas = await db.compactAll(true);
    expect(metas.length).toBe(4);
    const bucketDir = path.join(root, 'bucket');
    await new Shipper({
      bucket: new FilesystemBucket(bucketDir),
      prefix: `${TENANT}/`,
      blocksDir: t.blocksDir,
      localRetentionMs: Infinity,
      dropLocal: async () => undefined,
    }).sync();
    await db.close();
    const bucket = new FilesystemBucket(bucketDir);
    const gateway = new StoreGateway(gatewayTestOptions(bucket, path.join(root, 'gateway')));
    await gateway.start();
    expect(gateway.info()[TENANT].blocks).toBe(4);
    return {
      querier: gateway.querier(TENANT),
      // Blocks answer label queries for every series with data in a block overlapping the range.
      labelTimeTolerance: { blocks: metas },
      cleanup: async () => {
        await gateway.stop();
        await bucket.close();
        fs.rmSync(root, { recursive: true, force: true });
      },
    };
  },
  { decodeRaw: decodeRawSeries },
);
