import fc from 'fast-check';
import { Labels, StrataError } from '@strata/model';
import { decodeWriteRequestV1, encodeLabelFieldsV1, encodeWriteRequestV1, wireLabelsEqual } from './write-v1.js';
import { PbWriter } from './pb-writer.js';
import { expectBatchOf, failsOnlyWith, seriesArb, seriesWithHistogramsArb } from '../test/write-fixtures.js';

describe('remote-write 1.0', () => {
  test('native histograms: encode → decode round trip, integer and float, every field (property)', () => {
    fc.assert(
      fc.property(fc.array(seriesWithHistogramsArb, { maxLength: 5 }), (series) =>
        expectBatchOf(decodeWriteRequestV1(encodeWriteRequestV1(series)), series),
      ),
    );
  });

  test('encode → decode round trip (property)', () => {
    fc.assert(
      fc.property(fc.array(seriesArb, { maxLength: 8 }), (series) =>
        expectBatchOf(decodeWriteRequestV1(encodeWriteRequestV1(series)), series),
      ),
    );
  });

  test('Label fields are written as nested messages would be, byte for byte (property)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 80 });
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text), { maxLength: 6 }), (labels) => {
        const pairs = labels.flat();
        const w = new PbWriter();
        for (let i = 0; i < pairs.length; i += 2)
          w.message(1, () => {
            w.string(1, pairs[i]);
            w.string(2, pairs[i + 1]);
          });
        expect(Buffer.compare(encodeLabelFieldsV1(Labels.fromSortedPairs(pairs)), w.finish())).toBe(0);
      }),
    );
  });

  test('metadata survives', () => {
    const b = decodeWriteRequestV1(encodeWriteRequestV1([], [{ metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' }]));
    expect(b.metadata).toEqual([{ metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' }]);
  });

  test('random bytes and truncations fail only with StrataError', () => {
    const decodeAll = (body: Buffer) => {
      const b = decodeWriteRequestV1(body);
      b.series.forEach((s) => b.labelsOf(s));
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => failsOnlyWith(StrataError, () => decodeAll(Buffer.from(bytes)))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(seriesWithHistogramsArb, { minLength: 1, maxLength: 4 }), fc.nat(), (series, cut) => {
        const body = encodeWriteRequestV1(series);
        failsOnlyWith(StrataError, () => decodeAll(body.subarray(0, cut % body.length)));
      }),
    );
  });

  test('invalid UTF-8 in a label value is rejected when the labels are decoded', () => {
    const good = encodeWriteRequestV1([{ labels: Labels.fromObject({ __name__: 'a', l: 'é' }), timestamps: [1], values: [1] }]);
    const i = good.indexOf(Buffer.from('é'));
    const bad = Buffer.from(good);
    bad[i + 1] = 0x28; // breaks the continuation byte
    const batch = decodeWriteRequestV1(bad);
    expect(() => batch.labelsOf(batch.series[0])).toThrow(/UTF-8/);
  });

  test('wire labels: equal hash and verified equality exactly when the label sets are equal', () => {
    // Half the pairs share their label set (sent with other samples), so the equal case is exercised
    // as often as the different one: two independent random label sets are almost never equal.
    const pairArb = fc
      .tuple(seriesArb, seriesArb, fc.boolean())
      .map(([a, b, sameLabels]) => (sameLabels ? [a, { ...b, labels: Labels.fromPairs([...a.labels.pairs]) }] : [a, b]));
    let equalPairs = 0;
    fc.assert(
      fc.property(pairArb, ([a, b]) => {
        const ba = decodeWriteRequestV1(encodeWriteRequestV1([a]));
        const bb = decodeWriteRequestV1(encodeWriteRequestV1([b]));
        const sa = ba.series[0];
        const sb = bb.series[0];
        const same = a.labels.equals(b.labels);
        if (same) {
          equalPairs++;
          // Equal label sets hash equally (unequal ones may collide, so that direction is not asserted).
          expect(sb.labelsHash).toBe(sa.labelsHash);
        }
        // eslint-disable-next-line no-control-regex
        const ascii = a.labels.pairs.every((x) => /^[\x00-\x7f]*$/.test(x));
        // Verification never confuses two label sets; for ASCII labels it recognises equal ones.
        expect(wireLabelsEqual(ba.raw, sa.labelsStart, sa.labelsEnd, b.labels.pairs)).toBe(same && ascii);
      }),
      { numRuns: 500 },
    );
    expect(equalPairs).toBeGreaterThan(100);
  });
});
