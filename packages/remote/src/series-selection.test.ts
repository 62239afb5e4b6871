import fc from 'fast-check';
import { Labels, StrataError } from '@strata/model';
import { decodeSeriesSelection, encodeSeriesSelection } from './series-selection.js';
import { decodeWriteRequestV1, encodeWriteRequestV1 } from './write-v1.js';
import { decodeWriteRequestV2, encodeWriteRequestV2 } from './write-v2.js';
import { expectBatchOf, seriesArb } from '../test/write-fixtures.js';

describe('series selection', () => {
  test('decodes exactly the selected series, in 1.0 and 2.0 (property)', () => {
    const arb = fc.array(fc.tuple(seriesArb, fc.boolean()), { maxLength: 20 });
    fc.assert(
      fc.property(arb, (picked) => {
        const series = picked.map(([s]) => s);
        const indices = picked.flatMap(([, keep], i) => (keep ? [i] : []));
        const want = indices.map((i) => series[i]);
        const sel = decodeSeriesSelection(encodeSeriesSelection(indices, series.length));
        expectBatchOf(decodeWriteRequestV1(encodeWriteRequestV1(series), sel), want);
        expectBatchOf(decodeWriteRequestV2(encodeWriteRequestV2(series), sel), want);
      }),
    );
  });

  test.each([
    ['no count', 'AAA'],
    ['negative count', '-1:'],
    ['bitmap shorter than the count', '9:AA'],
    ['bitmap longer than the count', '3:AAAA'],
    ['count not a number', 'x:AA'],
  ])('a malformed selection is a 400 (%s)', (_name, header) => {
    expect(() => decodeSeriesSelection(header)).toThrow(expect.objectContaining({ id: 'invalid-request-body', status: 400 }));
  });

  test('a selection made for another number of series is refused, not misapplied', () => {
    const body = encodeWriteRequestV1([{ labels: Labels.fromObject({ __name__: 'a' }), timestamps: [1], values: [1] }]);
    const sel = decodeSeriesSelection(encodeSeriesSelection([0], 2));
    expect(() => decodeWriteRequestV1(body, sel)).toThrow(/selects among 2 series but the body has 1/);
    expect(() =>
      decodeWriteRequestV2(encodeWriteRequestV2([{ labels: Labels.fromObject({ __name__: 'a' }), timestamps: [1], values: [1] }]), sel),
    ).toThrow(StrataError);
  });
});
