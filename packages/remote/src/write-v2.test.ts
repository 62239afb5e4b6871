import fc from 'fast-check';
import { Labels, StrataError } from '@strata/model';
import { decodeWriteRequestV2, encodeWriteRequestV2 } from './write-v2.js';
import { expectBatchOf, failsOnlyWith, seriesArb, seriesWithHistogramsArb } from '../test/write-fixtures.js';

describe('remote-write 2.0', () => {
  test('native histograms: encode → decode round trip, integer and float, every field (property)', () => {
    fc.assert(
      fc.property(fc.array(seriesWithHistogramsArb, { maxLength: 5 }), (series) =>
        expectBatchOf(decodeWriteRequestV2(encodeWriteRequestV2(series)), series),
      ),
    );
  });

  test('encode → decode round trip (property)', () => {
    fc.assert(
      fc.property(fc.array(seriesArb, { maxLength: 8 }), (series) =>
        expectBatchOf(decodeWriteRequestV2(encodeWriteRequestV2(series)), series),
      ),
    );
  });

  test('per-series metadata survives', () => {
    const s = {
      labels: Labels.fromObject({ __name__: 'x_seconds' }),
      timestamps: [1],
      values: [2],
      metadata: { type: 'counter' as const, help: 'H', unit: 'seconds' },
    };
    expect(decodeWriteRequestV2(encodeWriteRequestV2([s])).series[0].metadata).toEqual({ type: 'counter', help: 'H', unit: 'seconds' });
  });

  test('random bytes and truncations fail only with StrataError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => failsOnlyWith(StrataError, () => decodeWriteRequestV2(Buffer.from(bytes)))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(seriesWithHistogramsArb, { minLength: 1, maxLength: 4 }), fc.nat(), (series, cut) => {
        const body = encodeWriteRequestV2(series);
        failsOnlyWith(StrataError, () => decodeWriteRequestV2(body.subarray(0, cut % body.length)));
      }),
    );
  });

  test('out-of-range symbol references are a clear error', () => {
    const body = encodeWriteRequestV2([{ labels: Labels.fromObject({ __name__: 'a' }), timestamps: [1], values: [1] }]);
    // Drop the symbol table (leading field-4 entries) so the references dangle.
    let p = 0;
    while (body[p] === 0x22) p += 2 + body[p + 1];
    expect(() => decodeWriteRequestV2(body.subarray(p))).toThrow(/symbol reference/);
  });
});
