/**
 * Forwarded shares are decoded into columns read through one reused record (WriteBatch.seriesAt).
 * Differential: every share, valid or corrupted, reads exactly as the record-per-series decoder
 * it replaced read it (test/share-decoder-records.ts).
 */
import fc from 'fast-check';
import { Labels, StrataError, type MetricMetadata } from '@strata/model';
import { decodeShare, encodeShare } from './forwarded-share.js';
import { decodeWriteRequestV1, encodeWriteRequestV1 } from './write-v1.js';
import { decodeWriteRequestV2, encodeWriteRequestV2 } from './write-v2.js';
import { WriteBatch, type MetadataRecord, type SeriesRecord } from './write-batch.js';
import { seriesWithHistogramsArb } from '../test/write-fixtures.js';
import { decodeShareAsRecords } from '../test/share-decoder-records.js';

const metadataArb: fc.Arbitrary<MetadataRecord> = fc.record({
  metricFamilyName: fc.string({ maxLength: 8 }),
  type: fc.constantFrom<MetricMetadata['type']>('unknown', 'counter', 'gauge', 'histogram', 'summary'),
  help: fc.string({ maxLength: 12 }),
  unit: fc.string({ maxLength: 4 }),
});

const exemplarArb = fc.record({
  labels: fc.array(fc.string({ minLength: 1, maxLength: 5 }), { maxLength: 4 }).map((l) => (l.length % 2 ? l.slice(1) : l)),
  value: fc.double({ noNaN: true }),
  timestamp: fc.integer({ min: -1e12, max: 4e12 }),
});

/** Series with samples, histograms, exemplars and (sent as 2.0) per-series metadata. */
const seriesArb = fc
  .tuple(seriesWithHistogramsArb, fc.array(exemplarArb, { maxLength: 2 }), fc.option(metadataArb, { nil: undefined }))
  .map(([s, exemplars, m]) => ({ ...s, exemplars, metadata: m && { type: m.type, help: m.help, unit: m.unit } }));

/** A client's request (1.0 or 2.0) as its router decoded it, and a share of it. */
const shareArb = fc
  .record({
    series: fc.array(seriesArb, { maxLength: 10 }),
    v2Request: fc.boolean(),
    v2Flag: fc.boolean(),
    metadata: fc.array(metadataArb, { maxLength: 2 }),
  })
  .chain((r) => fc.tuple(fc.constant(r), fc.subarray([...r.series.keys()]), fc.boolean()))
  .map(([r, picked, reshared]) => {
    let batch = r.v2Request ? decodeWriteRequestV2(encodeWriteRequestV2(r.series)) : decodeWriteRequestV1(encodeWriteRequestV1(r.series));
    // A share of a share: its labels are references into a field table, not wire bytes.
    if (reshared) batch = decodeShare(encodeShare(batch, [...r.series.keys()], [], r.v2Flag)).batch;
    return encodeShare(batch, picked, r.metadata, r.v2Flag);
  });

function bits(a: Float64Array, n: number): string {
  return Buffer.from(a.buffer, a.byteOffset, n * 8).toString('hex');
}

/** Series k of a batch with its labels decoded, as a plain object. */
function readSeries(batch: WriteBatch, k: number): SeriesRecord {
  const s = batch.seriesAt(k);
  batch.labelsOf(s);
  return { ...s, labels: [...s.labels] };
}

type Reference = ReturnType<typeof decodeShareAsRecords>;

/** Series k of the reference decoder's batch with its labels decoded. */
function wantSeries(want: Reference, k: number): SeriesRecord {
  return { ...want.batch.series[k], labels: want.labelsOf(k) };
}

/** got (columns) reads as want (records): series in `order`, samples, histograms, metadata. */
function expectSameBatch(got: WriteBatch, want: Reference, order: readonly number[]): void {
  const w = want.batch;
  expect(got.seriesCount).toBe(w.series.length);
  for (const k of order) expect(readSeries(got, k)).toEqual(wantSeries(want, k));
  expect(got.numSamples).toBe(w.numSamples);
  expect(bits(got.timestamps, got.numSamples)).toBe(bits(w.timestamps, w.numSamples));
  expect(bits(got.values, got.numSamples)).toBe(bits(w.values, w.numSamples));
  expect(got.numHistograms).toBe(w.numHistograms);
  expect(got.numExemplars).toBe(w.numExemplars);
  const rows = w.histogramRows?.n ?? 0;
  expect(got.histogramRows?.n ?? 0).toBe(rows);
  for (let i = 0; i < rows; i++) expect(got.histogramRows!.get(i)).toEqual(w.histogramRows!.get(i));
  expect(got.metadata).toEqual(w.metadata);
}

/** What a decode gives: its batch, or the StrataError it threw (anything else fails the test). */
function attempt<T>(f: () => T): T | StrataError {
  try {
    return f();
  } catch (e) {
    if (e instanceof StrataError) return e;
    throw e;
  }
}

describe('forwarded share decoded into columns', () => {
  test('reads every share as the record-per-series decoder did, in any order, before and after records are made (property)', () => {
    fc.assert(
      fc.property(
        shareArb.chain((share) => fc.tuple(fc.constant(share), fc.shuffledSubarray([...Array(12).keys()]))),
        ([share, shuffle]) => {
          const got = decodeShare(share);
          const want = decodeShareAsRecords(share);
          expect(got.v2).toBe(want.v2);
          const n = want.batch.series.length;
          // Series in a shuffled order: the reused record must carry nothing of one series into the next.
          const order = shuffle.filter((k) => k < n);
          for (let k = 0; k < n; k++) if (!order.includes(k)) order.push(k);
          expectSameBatch(got.batch, want, order);
          // The records made on demand hold the same series, and from then on are what seriesAt reads.
          const records = got.batch.series;
          expect(records.length).toBe(n);
          records.forEach((s, k) => {
            expect(got.batch.seriesAt(k)).toBe(s);
            got.batch.labelsOf(s);
            expect(s).toEqual(wantSeries(want, k));
          });
        },
      ),
    );
  });

  test('a corrupted share fails, or reads the same, as with the record-per-series decoder (property)', () => {
    fc.assert(
      fc.property(
        shareArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (share, edits) => {
          const body = Buffer.from(share);
          for (const [at, b] of edits) body[at % body.length] = b;
          const got = attempt(() => decodeShare(body));
          const want = attempt(() => decodeShareAsRecords(body));
          expect(got instanceof StrataError).toBe(want instanceof StrataError);
          if (got instanceof StrataError || want instanceof StrataError) return;
          const order = [...want.batch.series.keys()].reverse();
          expect(got.batch.seriesCount).toBe(order.length);
          for (const k of order) {
            // Label fields are decoded when a series' labels are read: a corrupted one fails then, in both.
            const w = attempt(() => wantSeries(want, k));
            const g = attempt(() => readSeries(got.batch, k));
            if (w instanceof StrataError) expect(g).toBeInstanceOf(StrataError);
            else expect(g).toEqual(w);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('setting columns drops the records held before', () => {
    const batch = decodeWriteRequestV1(
      encodeWriteRequestV1([{ labels: Labels.fromObject({ __name__: 'old' }), timestamps: [1, 2], values: [1, 2] }]),
    );
    expect(batch.seriesCount).toBe(1);
    batch.setColumns({
      n: 1,
      samples: Int32Array.of(0, 1),
      histograms: Int32Array.of(0, 0),
      labels: Int32Array.of(0, 0),
      hashes: Uint32Array.of(7),
      exemplars: Float64Array.of(0),
      exemplarLists: undefined,
      metadata: undefined,
    });
    expect(batch.seriesCount).toBe(1);
    expect(batch.seriesAt(0)).toMatchObject({ labelsHash: 7, sampleStart: 0, sampleEnd: 1, labelsStart: 0, labelsEnd: 0 });
    expect(batch.series.map((s) => s.labelsHash)).toEqual([7]);
    // Records set again replace the columns.
    batch.series = [];
    expect(batch.seriesCount).toBe(0);
  });
});
