import fc from 'fast-check';
import { Labels } from '@strata/model';
import { decodeWriteRequestV1, encodedLabelsV1, encodeWriteRequestV1, writeBatchOfSamplesV1 } from './write-v1.js';

const labelSet = fc
  .dictionary(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), {
    minKeys: 1,
    maxKeys: 6,
  })
  .map((o) => Labels.fromObject(o));
// Timestamps around zero and far out, negative ones (ten-byte varints) among them; +0 and -0 values.
const timestamp = fc.oneof(fc.constant(0), fc.integer({ min: -2_000_000, max: 2_000_000 }), fc.integer({ min: 0, max: 2 ** 53 - 1 }));
const value = fc.oneof(fc.constant(0), fc.constant(-0), fc.double({ noNaN: true }));

test('a batch built from encoded labels is the batch decoded from the encoded request, byte for byte', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(labelSet, timestamp, value), { maxLength: 40 }), (rows) => {
      const want = decodeWriteRequestV1(encodeWriteRequestV1(rows.map(([labels, t, v]) => ({ labels, timestamps: [t], values: [v] }))));
      const got = writeBatchOfSamplesV1(
        rows.map(([l]) => encodedLabelsV1(l)),
        rows.map(([, t]) => t),
        rows.map(([, , v]) => v),
      );
      expect(Buffer.compare(got.raw, want.raw)).toBe(0);
      expect(got.numSamples).toBe(want.numSamples);
      expect(Array.from(got.timestamps.subarray(0, got.numSamples))).toEqual(Array.from(want.timestamps.subarray(0, want.numSamples)));
      expect(Array.from(got.values.subarray(0, got.numSamples))).toEqual(Array.from(want.values.subarray(0, want.numSamples)));
      expect(got.series).toEqual(want.series);
      for (let i = 0; i < rows.length; i++) expect(got.labelsOf(got.series[i])).toEqual(rows[i][0].pairs);
    }),
    { numRuns: 300 },
  );
});
