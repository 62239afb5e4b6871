import fc from 'fast-check';
import { Labels, StrataError, type MetricMetadata } from '@strata/model';
import { decodeShare, encodeShare } from './forwarded-share.js';
import { decodeWriteRequestV1, encodeWriteRequestV1 } from './write-v1.js';
import { PbWriter } from './pb-writer.js';
import { decodeWriteRequestV2, encodeWriteRequestV2 } from './write-v2.js';
import type { MetadataRecord } from './write-batch.js';
import type { SeriesToWrite } from './write-v1.js';
import { expectBatchOf, failsOnlyWith, seriesArb, seriesWithHistogramsArb } from '../test/write-fixtures.js';

const metadataArb: fc.Arbitrary<MetadataRecord> = fc.record({
  metricFamilyName: fc.string({ maxLength: 8 }),
  type: fc.constantFrom<MetricMetadata['type']>('unknown', 'counter', 'gauge', 'histogram', 'summary'),
  help: fc.string({ maxLength: 12 }),
  unit: fc.string({ maxLength: 4 }),
});

/** A request's series and a share of them: the indices picked, in the router's order. */
const requestAndShare = fc
  .array(seriesWithHistogramsArb, { maxLength: 8 })
  .chain((series) => fc.tuple(fc.constant(series), fc.subarray([...series.keys()]), fc.array(metadataArb, { maxLength: 3 })));

describe('forwarded share', () => {
  test('a share of a 1.0 request decodes to exactly its series, hashes and metadata (property)', () => {
    fc.assert(
      fc.property(requestAndShare, fc.boolean(), ([series, picked, metadata], v2) => {
        const batch = decodeWriteRequestV1(encodeWriteRequestV1(series));
        const got = decodeShare(encodeShare(batch, picked, metadata, v2));
        expect(got.v2).toBe(v2);
        expectBatchOf(
          got.batch,
          picked.map((i) => series[i]),
        );
        // The router's label-bytes hash travels, so a replica's head cache keys match the router's.
        picked.forEach((i, k) => expect(got.batch.series[k].labelsHash).toBe(batch.series[i].labelsHash));
        expect(got.batch.metadata).toEqual(metadata);
      }),
    );
  });

  test('a share re-encoded from a share keeps its series and the first router hashes (property)', () => {
    fc.assert(
      fc.property(requestAndShare, fc.boolean(), ([series, picked], v2) => {
        const client = v2 ? decodeWriteRequestV2(encodeWriteRequestV2(series)) : decodeWriteRequestV1(encodeWriteRequestV1(series));
        const first = decodeShare(encodeShare(client, [...series.keys()], [], v2)).batch;
        const again = decodeShare(encodeShare(first, picked, [], v2)).batch;
        expectBatchOf(
          again,
          picked.map((i) => series[i]),
        );
        picked.forEach((i, k) => expect(again.series[k].labelsHash).toBe(first.series[i].labelsHash));
      }),
    );
  });

  test('a share of a 2.0 request keeps labels and per-series metadata; equal label sets hash equal (property)', () => {
    const withMetadata = fc.tuple(seriesWithHistogramsArb, fc.option(metadataArb, { nil: undefined })).map(([s, m]) => ({
      ...s,
      metadata: m && { type: m.type, help: m.help, unit: m.unit },
    }));
    fc.assert(
      fc.property(fc.array(withMetadata, { maxLength: 6 }), (series) => {
        const batch = decodeWriteRequestV2(encodeWriteRequestV2(series));
        const all = [...series.keys()];
        const got = decodeShare(encodeShare(batch, all, [], true)).batch;
        expectBatchOf(got, series);
        series.forEach((s, k) => {
          const md = got.series[k].metadata;
          if (s.metadata) expect(md).toEqual(s.metadata);
        });
        // Sent again (another request), the same series get the same hashes.
        const again = decodeShare(encodeShare(decodeWriteRequestV2(encodeWriteRequestV2(series)), all, [], true)).batch;
        again.series.forEach((s, k) => expect(s.labelsHash).toBe(got.series[k].labelsHash));
      }),
    );
  });

  test('label comparison: true exactly for the series own pairs (property)', () => {
    fc.assert(
      fc.property(fc.array(seriesArb, { minLength: 1, maxLength: 6 }), (series) => {
        const batch = decodeWriteRequestV1(encodeWriteRequestV1(series));
        const got = decodeShare(encodeShare(batch, [...series.keys()], [], false)).batch;
        series.forEach((a, i) =>
          series.forEach((b) => {
            const same = a.labels.pairs.join('\0') === b.labels.pairs.join('\0');
            expect(got.labelFields!.equals(got.series[i], b.labels.pairs)).toBe(same);
          }),
        );
      }),
    );
  });

  // Label messages as clients may encode them: the byte compare must answer as the decoded strings would.
  test.each<[string, (w: PbWriter, name: string, value: string) => void]>([
    ['name then value', (w, n, v) => (w.string(1, n), w.string(2, v))],
    ['value then name', (w, n, v) => (w.string(2, v), w.string(1, n))],
    ['explicit empty fields and a repeated name', (w, n, v) => (w.string(1, ''), w.string(1, n), w.string(2, v), w.string(3, 'x'))],
  ])('label comparison over client Label bytes encoded %s', (_name, label) => {
    const pairs = ['__name__', 'up', 'job', 'é-job', 'long', 'v'.repeat(200), 'zone', 'a'];
    const w = new PbWriter();
    w.message(1, () => {
      for (let k = 0; k < pairs.length; k += 2) w.message(1, () => label(w, pairs[k], pairs[k + 1]));
      w.message(2, () => (w.double(1, 1), w.uint(2, 1000)));
    });
    const batch = decodeWriteRequestV1(w.finish());
    const got = decodeShare(encodeShare(batch, [0], [], false)).batch;
    const fields = got.labelFields!;
    expect(fields.equals(got.series[0], pairs)).toBe(true);
    expect(fields.equals(got.series[0], pairs)).toBe(true); // again, from the per-field memo
    for (let k = 0; k < pairs.length; k++) {
      const other = pairs.slice();
      other[k] = k % 2 === 0 ? other[k] + 'x' : other[k].slice(0, -1) + 'q'; // names longer, values' last byte changed
      expect(fields.equals(got.series[0], other)).toBe(false);
    }
    expect(fields.equals(got.series[0], pairs.slice(0, -2))).toBe(false);
  });

  test('requests whose series share most pairs (neighbours alike, names and values repeating) round-trip (property)', () => {
    // Few names and values, so equal pairs at equal positions, equal pairs elsewhere and pairs
    // equal up to their last byte all occur: every branch of the field table's deduplication.
    const value = fc.constantFrom('a', 'b', 'ab', 'abcd', 'abce', 'abcdefgh', 'abcdefgi', '');
    const repetitive: fc.Arbitrary<SeriesToWrite> = fc
      .uniqueArray(fc.tuple(fc.constantFrom('__name__', 'job', 'instance', 'le', 'x'), value), { selector: (t) => t[0], minLength: 1 })
      .map((pairs) => ({ labels: Labels.fromPairs(pairs.flat()), timestamps: [5], values: [1] }));
    fc.assert(
      fc.property(fc.array(repetitive, { maxLength: 30 }), (series) => {
        const batch = decodeWriteRequestV1(encodeWriteRequestV1(series));
        expectBatchOf(decodeShare(encodeShare(batch, [...series.keys()], [], false)).batch, series);
      }),
    );
  });

  test('repeated label pairs are stored once in the field table', () => {
    const series = Array.from({ length: 100 }, (_, i) => ({
      labels: Labels.fromObject({ __name__: 'up', job: 'node', instance: `host-${i % 10}` }),
      timestamps: [1000],
      values: [1],
    }));
    const batch = decodeWriteRequestV1(encodeWriteRequestV1(series));
    const share = encodeShare(batch, [...series.keys()], [], false);
    // 12 distinct fields, 100 x (3 references + hash + counts) and 100 samples: far below the 1.0 body.
    expect(share.length).toBeLessThan(100 * 32 + 12 * 20 + 64);
    expect(share.length).toBeLessThan(encodeWriteRequestV1(series).length / 2);
    expectBatchOf(decodeShare(share).batch, series);
  });

  test('the field table holds each distinct pair once, through its growth (property)', () => {
    // Up to a few thousand distinct pairs of varied lengths: the table's slots and arrays grow several times.
    const pairArb = fc.tuple(fc.constantFrom('__name__', 'job', 'instance', 'le', 'x'), fc.string({ maxLength: 14 }));
    fc.assert(
      fc.property(
        fc.array(fc.uniqueArray(pairArb, { selector: (t) => t[0], minLength: 1 }), { minLength: 200, maxLength: 600 }),
        (pairsPerSeries) => {
          const series = pairsPerSeries.map((pairs) => ({ labels: Labels.fromPairs(pairs.flat()), timestamps: [5], values: [1] }));
          const batch = decodeWriteRequestV1(encodeWriteRequestV1(series));
          const share = encodeShare(batch, [...series.keys()], [], false);
          expectBatchOf(decodeShare(share).batch, series);
          // The field count is the varint after the magic and the flags.
          let count = 0;
          for (let p = 5, shift = 0; ; p++, shift += 7) {
            count += (share[p] & 0x7f) * 2 ** shift;
            if (share[p] < 0x80) break;
          }
          const distinct = new Set(series.flatMap((s) => s.labels.pairs.flatMap((v, k, all) => (k % 2 ? [] : [`${v}\0${all[k + 1]}`]))));
          expect(count).toBe(distinct.size);
        },
      ),
      { numRuns: 30 },
    );
  });

  test("shares of batches whose tables are built in turn (one table's working arrays reused by the next) read back as their own batch (property)", () => {
    // Batches of different sizes and fields, each encoded once before the next and again after
    // all of them: a table left from a larger batch, or from one with other fields, changes nothing.
    fc.assert(
      fc.property(fc.array(requestAndShare, { minLength: 2, maxLength: 5 }), (requests) => {
        const batches = requests.map(([series]) => decodeWriteRequestV1(encodeWriteRequestV1(series)));
        const first = batches.map((b, k) => encodeShare(b, requests[k][1], [], false));
        const later = batches.map((b, k) => encodeShare(b, [...requests[k][0].keys()], [], false));
        requests.forEach(([series, picked], k) => {
          expectBatchOf(
            decodeShare(first[k]).batch,
            picked.map((i) => series[i]),
          );
          expectBatchOf(decodeShare(later[k]).batch, series);
          // Equal to the share of a fresh decode of the same request, built after every other table.
          const fresh = decodeWriteRequestV1(encodeWriteRequestV1(series));
          expect(encodeShare(fresh, picked, [], false)).toEqual(first[k]);
        });
      }),
    );
  });

  test('a share decodes to the same samples at any byte offset in memory, value bits included (property)', () => {
    // Aligned shares' sample columns are views into the share's bytes, unaligned ones copies:
    // both read exactly the series sent (staleness markers and -0 bit for bit).
    fc.assert(
      fc.property(requestAndShare, fc.integer({ min: 0, max: 15 }), ([series, picked], offset) => {
        const share = encodeShare(decodeWriteRequestV1(encodeWriteRequestV1(series)), picked, [], false);
        const placed = Buffer.alloc(share.length + 16);
        share.copy(placed, offset);
        expectBatchOf(
          decodeShare(placed.subarray(offset, offset + share.length)).batch,
          picked.map((i) => series[i]),
        );
      }),
    );
  });

  test('random bytes and truncations fail only with StrataError', () => {
    const decodeAll = (body: Buffer) => {
      const b = decodeShare(body).batch;
      b.series.forEach((s) => b.labelsOf(s));
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) =>
        failsOnlyWith(StrataError, () => decodeAll(Buffer.concat([Buffer.from('SSH1'), Buffer.from(bytes)]))),
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(requestAndShare, fc.nat(), ([series, picked, metadata], cut) => {
        const body = encodeShare(decodeWriteRequestV1(encodeWriteRequestV1(series)), picked, metadata, false);
        expect(() => decodeShare(body.subarray(0, cut % body.length))).toThrow(StrataError);
      }),
    );
  });
});
