import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { Labels, Matcher } from '@strata/model';
import { decodeWriteRequestV1, decodeWriteRequestV2, encodeWriteRequestV1, encodeWriteRequestV2, type SeriesToWrite } from '@strata/remote';
import { TSDB } from '@strata/tsdb';
import { Limits, type TenantLimits } from '@strata/api';
import { MetadataStore } from './metadata-store.js';
import { Writer } from './writer.js';

const TEST_LIMITS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
};
const NOW = Date.UTC(2026, 0, 1);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function open(limits: Partial<TenantLimits> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-writer-'));
  dirs.push(dir);
  const db = await TSDB.open({ dir, fsync: 'batch', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
  const registry = new Registry();
  const metadata = new MetadataStore();
  const writer = new Writer({
    storage: db,
    limits: new Limits({ defaults: { ...TEST_LIMITS, ...limits } }),
    metadata,
    registry,
    creationGracePeriodMs: 60_000,
    now: () => NOW,
  });
  return { db, registry, metadata, writer };
}

const series = (labels: Record<string, string>, ...samples: [number, number][]): SeriesToWrite => ({
  labels: Labels.fromObject(labels),
  timestamps: samples.map((s) => s[0]),
  values: samples.map((s) => s[1]),
});

async function stored(db: TSDB, name: string): Promise<number[]> {
  const q = (await db.tenant('t')).querier();
  const s = await q.select([new Matcher('=', '__name__', name)], { start: -Infinity, end: Infinity });
  return s.flatMap((x) => Array.from(x.timestamps));
}

describe('writer: the local append with per-series errors', () => {
  test.each(['1.0', '2.0'])(
    'remote-write %s: rejected series are named by index, the others land, the first reason is kept',
    async (version) => {
      const { db, writer, registry } = await open({ maxLabelNamesPerSeries: 3 });
      const batch = [
        series({ __name__: 'ok_a' }, [NOW - 10, 1]),
        series({ __name__: 'future' }, [NOW - 5, 1], [NOW + 3600_000, 2]), // one sample lands, one is rejected
        series({ __name__: 'ok_b' }, [NOW - 10, 1]),
        series({ __name__: 'wide', a: '1', b: '2', c: '3' }, [NOW - 10, 1]),
      ];
      const decoded =
        version === '1.0' ? decodeWriteRequestV1(encodeWriteRequestV1(batch)) : decodeWriteRequestV2(encodeWriteRequestV2(batch));
      const r = await writer.write('t', decoded, version === '2.0');
      expect(r.samplesWritten).toBe(3);
      expect(r.rejected).toEqual([1, 3]);
      expect(r.firstError).toMatchObject({ id: 'sample-too-far-in-future', status: 400 });
      expect(r.firstError!.detail).toContain('future');
      expect(await stored(db, 'ok_a')).toEqual([NOW - 10]);
      expect(await stored(db, 'future')).toEqual([NOW - 5]);
      expect(await stored(db, 'wide')).toEqual([]);
      const discarded = await registry.getSingleMetricAsString('strata_discarded_samples_total');
      expect(discarded).toContain('reason="sample-too-far-in-future",tenant="t"} 1');
      expect(discarded).toContain('reason="max-label-names-per-series",tenant="t"} 1');
      await db.close();
    },
  );

  test('a clean batch has no error and no rejected series; re-sending it is accepted (idempotent)', async () => {
    const { db, writer, registry } = await open();
    const body = encodeWriteRequestV1([
      series({ __name__: 'm', i: '1' }, [NOW - 2, 1], [NOW - 1, 2]),
      series({ __name__: 'm', i: '2' }, [NOW - 1, 3]),
    ]);
    for (let k = 0; k < 2; k++) {
      const r = await writer.write('t', decodeWriteRequestV1(body), false);
      expect(r).toMatchObject({ samplesWritten: 3, firstError: undefined, rejected: [] });
    }
    expect((await stored(db, 'm')).length).toBe(3);
    expect(await registry.getSingleMetricAsString('strata_received_samples_total')).toContain('tenant="t"} 6');
    await db.close();
  });

  test('metadata of 1.0 requests and 2.0 series is kept for its metric', async () => {
    const { db, writer, metadata } = await open();
    await writer.write(
      't',
      decodeWriteRequestV1(encodeWriteRequestV1([], [{ metricFamilyName: 'up', type: 'gauge', help: 'is it up', unit: '' }])),
      false,
    );
    const v2 = decodeWriteRequestV2(
      encodeWriteRequestV2([{ ...series({ __name__: 'reqs_total' }), metadata: { type: 'counter', help: 'requests', unit: '' } }]),
    );
    await writer.write('t', v2, true);
    expect(metadata.metadata('t', undefined, -1, -1)).toEqual({
      up: [{ type: 'gauge', help: 'is it up', unit: '' }],
      reqs_total: [{ type: 'counter', help: 'requests', unit: '' }],
    });
    await db.close();
  });
});

describe('writer: late samples are reported after the commit', () => {
  test('the time range of accepted samples older than the window, once per write; newer, rejected and repeated samples are not', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-writer-late-'));
    dirs.push(dir);
    const db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 3_600_000, samplesPerChunk: 120, maxSeries: 0 } });
    const calls: [string, number, number, number[]][] = [];
    const writer = new Writer({
      storage: db,
      limits: new Limits({ defaults: TEST_LIMITS }),
      metadata: new MetadataStore(),
      registry: new Registry(),
      creationGracePeriodMs: 60_000,
      now: () => NOW,
      // What a query would see when told: the samples must already be visible.
      lateSamples: { olderThanMs: 60_000, onLate: (t, min, max) => void stored(db, 'late').then((ts) => calls.push([t, min, max, ts])) },
    });
    const write = (...s: SeriesToWrite[]) => writer.write('t', decodeWriteRequestV1(encodeWriteRequestV1(s)), false);
    // Newest first, so the later samples are out of order (within the head's window).
    await write(series({ __name__: 'late' }, [NOW, 1]));
    await write(series({ __name__: 'late' }, [NOW - 30_000, 2]));
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual([]);
    await write(
      series({ __name__: 'late' }, [NOW - 600_000, 3], [NOW - 120_000, 4]),
      series({ __name__: 'late', x: 'b' }, [NOW - 300_000, 5]),
    );
    // Too old for the head (rejected), and an identical repeat (nothing changed): not reported.
    await write(series({ __name__: 'late' }, [NOW - 7_200_000, 6], [NOW - 600_000, 3]));
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.map((c) => c.slice(0, 3))).toEqual([['t', NOW - 600_000, NOW - 120_000]]);
    expect(calls[0][3]).toEqual(expect.arrayContaining([NOW - 600_000, NOW - 300_000, NOW - 120_000]));
    await db.close();
  });
});
