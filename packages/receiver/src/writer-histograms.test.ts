import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { CounterResetHint, Labels, Matcher, type Series } from '@strata/model';
import { decodeWriteRequestV1, decodeWriteRequestV2, encodeWriteRequestV1, encodeWriteRequestV2, type WireHistogram } from '@strata/remote';
import { TSDB } from '@strata/tsdb';
import { Limits, type TenantLimits } from '@strata/api';
import { MetadataStore } from './metadata-store.js';
import { Writer } from './writer.js';

const LIMITS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
  nativeHistogramsIngestionEnabled: 1,
};
const NOW = Date.UTC(2026, 0, 1);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function open(dir: string, limits: Partial<TenantLimits> = {}) {
  const db = await TSDB.open({ dir, fsync: 'batch', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
  const writer = new Writer({
    storage: db,
    limits: new Limits({ defaults: { ...LIMITS, ...limits } }),
    metadata: new MetadataStore(),
    registry: new Registry(),
    creationGracePeriodMs: 60_000,
    now: () => NOW,
  });
  return { db, writer };
}

/** An integer counter histogram at t with n observations spread over two positive buckets and the zero bucket. */
function counter(t: number, n: number, extra: Partial<WireHistogram> = {}): WireHistogram {
  return {
    t,
    float: false,
    schema: 1,
    zeroThreshold: 0.001,
    zeroCount: n,
    count: 3 * n,
    sum: 1.5 * n,
    resetHint: 0,
    positiveSpans: [{ offset: 0, length: 2 }],
    positiveBuckets: [n, 0], // deltas: n, n
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [],
    ...extra,
  };
}

async function select(db: TSDB, name: string): Promise<Series[]> {
  return (await db.tenant('t')).querier().select([new Matcher('=', '__name__', name)], { start: -Infinity, end: Infinity });
}

describe('writer: native histograms into the head', () => {
  test('with native_histograms_ingestion_enabled switched off they are refused with 400 naming the key; floats land', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-hist-'));
    dirs.push(dir);
    const { db, writer } = await open(dir, { nativeHistogramsIngestionEnabled: 0 });
    const body = [
      { labels: Labels.fromObject({ __name__: 'rpc' }), timestamps: [], values: [], histograms: [counter(NOW - 1000, 1)] },
      { labels: Labels.fromObject({ __name__: 'up' }), timestamps: [NOW - 1000], values: [1] },
    ];
    const r = await writer.write('t', decodeWriteRequestV1(encodeWriteRequestV1(body)), false);
    expect([r.histogramsWritten, r.histogramsRejected, r.samplesWritten, r.rejected]).toEqual([0, 1, 1, [0]]);
    expect(r.firstError).toMatchObject({ id: 'unsupported-sample-type', status: 400 });
    expect(r.firstError!.detail).toContain('native_histograms_ingestion_enabled');
    expect(r.firstError!.detail).toContain('--limits.native-histograms-ingestion-enabled');
    expect(r.firstError!.detail).toContain('series: \'{__name__="rpc"}\'');
    expect(await select(db, 'rpc')).toEqual([]);
    expect(Array.from((await select(db, 'up'))[0].values)).toEqual([1]);
    await db.close();
  });

  test.each(['1.0', '2.0'])(
    'remote-write %s: valid histograms land and are selected, bad ones are named, the rest lands',
    async (version) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-hist-'));
      dirs.push(dir);
      const { db, writer } = await open(dir);
      const body = [
        {
          labels: Labels.fromObject({ __name__: 'rpc' }),
          timestamps: [],
          values: [],
          histograms: [counter(NOW - 3000, 1), counter(NOW - 2000, 2), counter(NOW - 1000, 4)],
        },
        {
          labels: Labels.fromObject({ __name__: 'bad', job: 'x' }),
          timestamps: [],
          values: [],
          histograms: [counter(NOW - 1000, 1, { positiveSpans: [{ offset: 0, length: 3 }] })],
        },
        { labels: Labels.fromObject({ __name__: 'up' }), timestamps: [NOW - 1000], values: [1] },
        {
          labels: Labels.fromObject({ __name__: 'gauge_h' }),
          timestamps: [],
          values: [],
          histograms: [{ ...counter(NOW - 1000, 2), float: true, positiveBuckets: [2, 2], resetHint: 3 }],
        },
      ];
      const v2 = version === '2.0';
      const batch = v2 ? decodeWriteRequestV2(encodeWriteRequestV2(body)) : decodeWriteRequestV1(encodeWriteRequestV1(body));
      const r = await writer.write('t', batch, v2);
      expect(r.histogramsWritten).toBe(4);
      expect(r.samplesWritten).toBe(1);
      expect(r.rejected).toEqual([1]);
      expect(r.firstError).toMatchObject({ id: 'invalid-native-histogram', status: 400 });
      expect(r.firstError!.detail).toContain('bad');
      expect(r.firstError!.detail).toContain('spans need 3 buckets, have 2 buckets');

      const check = async () => {
        const [rpc] = await select(db, 'rpc');
        expect(Array.from(rpc.timestamps)).toEqual([NOW - 3000, NOW - 2000, NOW - 1000]);
        const hs = rpc.histograms!.map((h) => h!);
        expect(hs.map((h) => h.count)).toEqual([3, 6, 12]);
        expect(hs[2].positiveBuckets).toEqual([4, 4]);
        expect(hs[2].zeroCount).toBe(4);
        expect(hs[2].schema).toBe(1);
        // One chunk with an unknown header: the first sample's hint is unknown, later ones not-a-reset.
        expect(hs.map((h) => h.counterResetHint)).toEqual([
          CounterResetHint.Unknown,
          CounterResetHint.NotCounterReset,
          CounterResetHint.NotCounterReset,
        ]);
        const [g] = await select(db, 'gauge_h');
        expect(g.histograms![0]!.counterResetHint).toBe(CounterResetHint.Gauge);
        expect(g.histograms![0]!.positiveBuckets).toEqual([2, 2]);
        expect(await select(db, 'bad')).toEqual([]);
        expect(Array.from((await select(db, 'up'))[0].values)).toEqual([1]);
      };
      await check();
      await db.close();
      // The snapshot written on close brings them back, and so does the WAL alone.
      const again = await open(dir);
      const [rpc] = await select(again.db, 'rpc');
      expect(rpc.histograms!.map((h) => h!.count)).toEqual([3, 6, 12]);
      await again.db.close();
      for (const f of fs.readdirSync(dir, { recursive: true }) as string[])
        if (path.basename(f).startsWith('snapshot')) fs.rmSync(path.join(dir, f));
      const replayed = await open(dir);
      const [fromWal] = await select(replayed.db, 'rpc');
      expect(fromWal.histograms!.map((h) => h!.count)).toEqual([3, 6, 12]);
      expect(fromWal.histograms![2]!.positiveBuckets).toEqual([4, 4]);
      await replayed.db.close();
    },
  );

  test('a counter reset starts a new chunk; a duplicate or older histogram is refused', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-hist-'));
    dirs.push(dir);
    const { db, writer } = await open(dir);
    const labels = Labels.fromObject({ __name__: 'c' });
    const send = (hs: WireHistogram[]) =>
      writer.write('t', decodeWriteRequestV1(encodeWriteRequestV1([{ labels, timestamps: [], values: [], histograms: hs }])), false);
    expect((await send([counter(NOW - 3000, 5), counter(NOW - 2000, 1)])).histogramsWritten).toBe(2);
    // Resent as it was (a retry): accepted; changed, or older than the newest: refused.
    const again = await send([counter(NOW - 2000, 1)]);
    expect(again.histogramsWritten).toBe(1);
    expect(again.firstError).toBeUndefined();
    const r = await send([counter(NOW - 2000, 2), counter(NOW - 2500, 9)]);
    expect(r.histogramsWritten).toBe(0);
    expect(r.firstError?.id).toBe('sample-duplicate-timestamp');
    expect(r.rejected).toEqual([0]);
    const [s] = await select(db, 'c');
    // The reset started a chunk: its first sample reads back as unknown, as Prometheus reads it.
    expect(s.histograms!.map((h) => h!.counterResetHint)).toEqual([CounterResetHint.Unknown, CounterResetHint.Unknown]);
    expect(s.histograms!.map((h) => h!.count)).toEqual([15, 3]);
    await db.close();
  });

  test('max_native_histogram_buckets reduces resolution before it rejects', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-hist-'));
    dirs.push(dir);
    const { db, writer } = await open(dir, { maxNativeHistogramBuckets: 1 });
    const labels = Labels.fromObject({ __name__: 'wide' });
    const h = counter(NOW - 1000, 2, { positiveSpans: [{ offset: 1, length: 2 }] });
    const r = await writer.write(
      't',
      decodeWriteRequestV1(encodeWriteRequestV1([{ labels, timestamps: [], values: [], histograms: [h] }])),
      false,
    );
    expect(r.histogramsWritten).toBe(1);
    const [s] = await select(db, 'wide');
    // Buckets 1 and 2 of schema 1 ((1, √2] and (√2, 2]) are bucket 1 at schema 0.
    expect(s.histograms![0]!.schema).toBe(0);
    expect(s.histograms![0]!.positiveBuckets).toEqual([4]);
    const custom = counter(NOW - 500, 1, { schema: -53, zeroCount: 0, zeroThreshold: 0, count: 2, customValues: [1, 2] });
    const r2 = await writer.write(
      't',
      decodeWriteRequestV1(encodeWriteRequestV1([{ labels, timestamps: [], values: [], histograms: [custom] }])),
      false,
    );
    expect(r2.firstError?.id).toBe('max-native-histogram-buckets');
    expect(r2.firstError!.detail).toContain('series: \'{__name__="wide"}\'');
    await db.close();
  });
});
