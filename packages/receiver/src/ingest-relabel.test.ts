import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { Labels, Matcher, parseRelabelConfigs } from '@strata/model';
import { TSDB } from '@strata/tsdb';
import { Limits } from '@strata/api';
import { MetadataStore } from './metadata-store.js';
import { Writer } from './writer.js';
import { decodeWriteRequestV1, decodeWriteRequestV2, encodeWriteRequestV1, encodeWriteRequestV2, type WriteBatch } from '@strata/remote';
import { IngestRelabeller } from './ingest-relabel.js';

const SERIES: Record<string, string>[] = [
  { __name__: 'http_requests_total', job: 'api', user_id: '1' },
  { __name__: 'http_requests_total', job: 'api', user_id: '2' },
  { __name__: 'debug_build', job: 'api' },
  { __name__: 'up', job: 'api' },
];

function request(v2: boolean): WriteBatch {
  const series = SERIES.map((o, i) => ({ labels: Labels.fromObject(o), timestamps: [1000, 2000], values: [i, i + 1] }));
  return v2 ? decodeWriteRequestV2(encodeWriteRequestV2(series)) : decodeWriteRequestV1(encodeWriteRequestV1(series));
}

/** What the writer would see: the labels of series that still have samples. */
function seen(b: WriteBatch): Record<string, string>[] {
  return b.series.filter((s) => s.sampleEnd > s.sampleStart).map((s) => Labels.fromPairs(b.labelsOf(s)).toObject());
}

const RULES = parseRelabelConfigs([
  { source_labels: ['__name__'], regex: 'debug_.*', action: 'drop' },
  { regex: 'user_id', action: 'labeldrop' },
  { target_label: 'env', replacement: 'prod' },
]);

describe.each([false, true])('IngestRelabeller (remote-write 2.0: %p)', (v2) => {
  test('relabels in place, drops series, counts their samples; the same bytes again give the same result', () => {
    const r = new IngestRelabeller();
    for (let round = 0; round < 2; round++) {
      const b = request(v2);
      expect(r.apply(b, RULES)).toBe(2);
      expect(seen(b)).toEqual([
        { __name__: 'http_requests_total', env: 'prod', job: 'api' },
        { __name__: 'http_requests_total', env: 'prod', job: 'api' },
        { __name__: 'up', env: 'prod', job: 'api' },
      ]);
      // Rewritten series no longer claim the client's bytes (caches keyed by them must miss);
      // a dropped one is never forwarded as the client's bytes (they hold its samples).
      for (const s of b.series) {
        if (s.sampleEnd > s.sampleStart) expect(s.labelsStart).toBeLessThan(0);
        expect(s.messageStart).toBe(-1);
      }
    }
  });

  test('no rules, or rules that change nothing, leave the batch untouched', () => {
    const r = new IngestRelabeller();
    const b = request(v2);
    const before = b.series.map((s) => ({ ...s }));
    expect(r.apply(b, undefined)).toBe(0);
    expect(r.apply(b, parseRelabelConfigs([{ source_labels: ['job'], regex: 'db', action: 'drop' }]))).toBe(0);
    expect(b.series.map((s) => ({ ...s, labels: [] }))).toEqual(before.map((s) => ({ ...s, labels: [] })));
  });

  test('new rules (a limits reload) are applied, not the outcomes remembered for the old ones', () => {
    const r = new IngestRelabeller();
    r.apply(request(v2), RULES);
    const b = request(v2);
    expect(r.apply(b, parseRelabelConfigs([{ source_labels: ['__name__'], regex: 'up', action: 'drop' }]))).toBe(2);
    expect(seen(b).map((l) => l.__name__)).toEqual(['http_requests_total', 'http_requests_total', 'debug_build']);
  });
});

test('rewritten series are found again by the hash of their new labels: one series per label set across requests', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-relabel-'));
  const db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
  const limits = new Limits({
    defaults: {
      ingestionRate: 0,
      ingestionBurstSize: 0,
      maxGlobalSeriesPerUser: 0,
      maxLabelNamesPerSeries: 30,
      maxLabelNameLength: 1024,
      maxLabelValueLength: 2048,
    },
  });
  const writer = new Writer({
    storage: db,
    limits,
    metadata: new MetadataStore(),
    registry: new Registry(),
    creationGracePeriodMs: 60_000,
  });
  const r = new IngestRelabeller();
  const rules = parseRelabelConfigs([{ source_labels: ['job'], target_label: 'team', replacement: 'core' }]);
  try {
    for (let round = 0; round < 3; round++) {
      const series = SERIES.map((o, i) => ({ labels: Labels.fromObject(o), timestamps: [1000 * (round + 1)], values: [i] }));
      const b = decodeWriteRequestV1(encodeWriteRequestV1(series));
      r.apply(b, rules);
      expect((await writer.write('t', b, false)).firstError).toBeUndefined();
    }
    const got = await (await db.tenant('t')).querier().select([new Matcher('=', 'team', 'core')], { start: -Infinity, end: Infinity });
    expect(got.map((s) => s.timestamps.length)).toEqual([3, 3, 3, 3]);
    expect((await db.tenant('t')).stats().numSeries).toBe(4);
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
