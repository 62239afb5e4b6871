/** Exemplars in remote-write 1.0 and 2.0 requests (encoded here field by field from prompb's messages) and in forwarded shares. */
import fc from 'fast-check';
import { Labels, StrataError } from '@strata/model';
import { decodeShare, encodeShare } from './forwarded-share.js';
import { PbWriter } from './pb-writer.js';
import { decodeWriteRequestV1, encodeWriteRequestV1 } from './write-v1.js';
import { decodeWriteRequestV2 } from './write-v2.js';

interface Ex {
  labels: string[];
  value: number;
  timestamp: number;
}

const pairs = fc
  .array(fc.tuple(fc.string({ minLength: 1, maxLength: 5 }), fc.string({ maxLength: 8 })), { maxLength: 3 })
  .map((l) => l.flat());
const exemplar = fc.record({ labels: pairs, value: fc.double({ noNaN: true }), timestamp: fc.integer({ min: -1e12, max: 4e12 }) });
const seriesArb = fc.array(fc.array(exemplar, { maxLength: 3 }), { minLength: 1, maxLength: 4 });

function v1(series: Ex[][]): Buffer {
  const w = new PbWriter();
  series.forEach((exemplars, i) =>
    w.message(1, () => {
      w.message(1, () => {
        w.string(1, '__name__');
        w.string(2, `m${i}`);
      });
      w.message(2, () => {
        w.double(1, 1);
        w.int64(2, 1000);
      });
      for (const e of exemplars)
        w.message(3, () => {
          for (let k = 0; k < e.labels.length; k += 2)
            w.message(1, () => {
              w.string(1, e.labels[k]);
              w.string(2, e.labels[k + 1]);
            });
          w.double(2, e.value);
          w.int64(3, e.timestamp);
        });
    }),
  );
  return w.finish();
}

function v2(series: Ex[][]): Buffer {
  const symbols = [''];
  const ref = (s: string) => {
    let i = symbols.indexOf(s);
    if (i < 0) i = symbols.push(s) - 1;
    return i;
  };
  const body = new PbWriter();
  series.forEach((exemplars, i) =>
    body.message(5, () => {
      body.packedUint(1, [ref('__name__'), ref(`m${i}`)]);
      for (const e of exemplars)
        body.message(4, () => {
          body.packedUint(1, e.labels.map(ref));
          body.double(2, e.value);
          body.int64(3, e.timestamp);
        });
    }),
  );
  const w = new PbWriter();
  for (const s of symbols) {
    if (s === '') w.bytes(4, new Uint8Array(0));
    else w.string(4, s);
  }
  w.raw(body.finish());
  return w.finish();
}

describe('exemplars in remote-write', () => {
  test.each([
    ['1.0', (s: Ex[][]) => decodeWriteRequestV1(v1(s))],
    ['2.0', (s: Ex[][]) => decodeWriteRequestV2(v2(s))],
  ])('%s: every exemplar is decoded onto its series, in order (property)', (_v, decode) => {
    fc.assert(
      fc.property(seriesArb, (series) => {
        const b = decode(series);
        expect(b.series.map((s) => s.exemplarList ?? [])).toEqual(series);
        expect(b.numExemplars).toBe(series.flat().length);
      }),
    );
  });

  test("1.0: encodeWriteRequestV1 writes a series' exemplars as prompb does, byte for byte (property)", () => {
    fc.assert(
      fc.property(seriesArb, (series) => {
        const encoded = encodeWriteRequestV1(
          series.map((exemplars, i) => ({ labels: Labels.fromObject({ __name__: `m${i}` }), timestamps: [1000], values: [1], exemplars })),
        );
        expect(Buffer.from(encoded).equals(Buffer.from(v1(series)))).toBe(true);
      }),
    );
  });

  test('a forwarded share carries the exemplars of the series it holds, and its flag only with them (property)', () => {
    fc.assert(
      fc.property(
        seriesArb.chain((series) => fc.tuple(fc.constant(series), fc.subarray([...series.keys()]))),
        fc.boolean(),
        ([series, picked], v2) => {
          const share = encodeShare(decodeWriteRequestV1(v1(series)), picked, [], v2);
          const got = decodeShare(share).batch;
          expect(got.series.map((s) => s.exemplarList ?? [])).toEqual(picked.map((i) => series[i]));
          expect(got.series.map((s) => s.exemplars)).toEqual(picked.map((i) => series[i].length));
          expect((share[4] & 4) !== 0).toBe(picked.some((i) => series[i].length > 0));
        },
      ),
    );
  });

  test('a share whose exemplar section does not match its series counts is malformed', () => {
    const share = encodeShare(decodeWriteRequestV1(v1([[{ labels: ['trace_id', 'a'], value: 1, timestamp: 5 }]])), [0], [], false);
    const cut = share.subarray(0, share.length - 1);
    expect(() => decodeShare(cut)).toThrow(StrataError);
    // Without the flag the section is trailing bytes.
    const unflagged = Buffer.from(share);
    unflagged[4] &= ~4;
    expect(() => decodeShare(unflagged)).toThrow(StrataError);
  });

  test('2.0: an exemplar with an odd number of label references is malformed', () => {
    const w = new PbWriter();
    w.bytes(4, new Uint8Array(0));
    w.string(4, 'a');
    w.message(5, () => {
      w.packedUint(1, [1, 1]);
      w.message(4, () => w.packedUint(1, [1]));
    });
    expect(() => decodeWriteRequestV2(w.finish())).toThrow(StrataError);
  });
});
