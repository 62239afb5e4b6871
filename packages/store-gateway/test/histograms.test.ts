/**
 * Native histograms through the store gateway: blocks cut from a head holding histograms, shipped
 * to a bucket, read back by the gateway (ranged reads of its chunks) answer what the head did,
 * histograms and their counter-reset hints included, in select and in the raw form.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CounterResetHint, Labels, Matcher, type Series } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { decodeRawSeries, Shipper, TSDB, type HistogramSample } from '@strata/tsdb';
import { StoreGateway } from '../src/index.js';
import { gatewayTestOptions } from './gateway-options.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-sgh-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const RANGE = 30 * 60_000;
const ALL = [new Matcher('=~', '__name__', '.+')];

function sample(n: number): HistogramSample {
  return {
    schema: 1,
    zeroThreshold: 0.001,
    zeroCount: n,
    count: 4 * n,
    sum: n * 1.5,
    positiveSpans: [{ offset: -1, length: 2 }],
    positiveBuckets: [n, n], // deltas: counts n and 2n
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [],
  };
}

function dump(series: readonly Series[]): string[] {
  const out: string[] = [];
  for (const s of series)
    for (let i = 0; i < s.timestamps.length; i++) {
      const h = s.histograms?.[i];
      out.push(`${s.labels.toString()} ${s.timestamps[i]} ${h ? h.toString() : s.values[i]}`);
    }
  return out;
}

test('the gateway serves histogram chunks of shipped blocks as the head served them', async () => {
  const db = await TSDB.open({
    dir: tmp(),
    fsync: 'none',
    blockDurationMs: RANGE,
    head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 },
  });
  const t = await db.tenant('team-a');
  for (let i = 0; i < 600; i++) {
    const app = t.appender();
    app.appendHistogram(
      app.ref(Labels.fromObject({ __name__: 'lat', pod: 'a' })),
      i * 15_000,
      sample(i + 1),
      false,
      CounterResetHint.Unknown,
    );
    app.append(app.ref(Labels.fromObject({ __name__: 'up', pod: 'a' })), i * 15_000, 1);
    await app.commit();
  }
  const want = dump(await t.querier().select(ALL, { start: -Infinity, end: Infinity }));
  expect(want.filter((l) => l.startsWith('lat')).length).toBe(600);
  await db.compactAll(true);
  const bucketDir = tmp();
  await new Shipper({
    bucket: new FilesystemBucket(bucketDir),
    prefix: 'team-a/',
    blocksDir: t.blocksDir,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  }).sync();
  await db.close();
  const g = new StoreGateway(gatewayTestOptions(new FilesystemBucket(bucketDir), tmp()));
  await g.start();
  try {
    const q = g.querier('team-a');
    expect(dump(await q.select(ALL, { start: -Infinity, end: Infinity }))).toEqual(want);
    // The raw form (what query workers decode), decoded as a worker does: the same answer.
    const raw = await q.selectRaw!(ALL, { start: -Infinity, end: Infinity });
    const decoded = raw.map((r) => decodeRawSeries(r, -Infinity, Infinity)!).sort((a, b) => Labels.compare(a.labels, b.labels));
    expect(dump(decoded)).toEqual(want);
  } finally {
    await g.stop();
  }
});
