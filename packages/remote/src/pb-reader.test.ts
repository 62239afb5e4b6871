import { Labels } from '@strata/model';
import { decodeWriteRequestV1, encodeWriteRequestV1 } from './write-v1.js';
import { decodeReadResponse, encodeReadResponse } from './read.js';

test('unknown length-delimited fields are skipped exactly (regression: the skip lost the length varint)', () => {
  const labels = Labels.fromObject({ __name__: 'a', job: 'x' });
  const body = encodeWriteRequestV1([{ labels, timestamps: [1, 2], values: [1.5, 2] }]);
  // Decoding the labels walks past the sample fields with skip().
  const batch = decodeWriteRequestV1(body);
  expect(batch.labelsOf(batch.series[0])).toEqual(labels.pairs);
  const rr = encodeReadResponse([[{ labels, timestamps: Float64Array.from([1, 2]), values: Float64Array.from([1.5, 2]) }]]);
  const got = decodeReadResponse(rr)[0][0];
  expect(got.labels.pairs).toEqual(labels.pairs);
  expect(Array.from(got.values)).toEqual([1.5, 2]);
});
