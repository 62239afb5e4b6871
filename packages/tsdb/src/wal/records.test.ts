import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import { Labels } from '@strata/model';
import { decodeSeries, encodeSamples, encodeSeries, forEachSample, frame, FRAME_HEADER, RECORD_SAMPLES, RECORD_SERIES } from './records.js';

/** Checks the frame (length, checksum over type and payload) and returns type and payload. */
function unframe(rec: Buffer): { type: number; payload: Buffer } {
  const len = rec.readUInt32LE(0);
  expect(rec.length).toBe(FRAME_HEADER + len);
  expect(rec.readUInt32LE(4)).toBe(crc32c(rec.subarray(FRAME_HEADER)));
  return { type: rec[FRAME_HEADER], payload: rec.subarray(FRAME_HEADER + 1) };
}

// Short ASCII, multi-byte and astral characters, and strings long enough for multi-byte varints.
const text = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', minLength: 40, maxLength: 200 }),
  fc.constant('x'.repeat(300)),
);

describe('WAL records', () => {
  test('series records round-trip with a valid frame (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.uniqueArray(fc.tuple(text, text), { selector: (t) => t[0], maxLength: 8 }),
        (ref, pairs) => {
          const labels = Labels.fromPairs(pairs.flat());
          const { type, payload } = unframe(encodeSeries(ref, labels));
          expect(type).toBe(RECORD_SERIES);
          const got = decodeSeries(payload);
          expect(got.ref).toBe(ref);
          expect(got.labels.pairs).toEqual(labels.pairs);
        },
      ),
    );
  });

  test('samples records round-trip bit for bit (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: -2e12, max: 4e12 }), fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 })), {
          maxLength: 50,
        }),
        (rows) => {
          const n = rows.length;
          const refs = Uint32Array.from(rows.map((r) => r[0]));
          const ts = Float64Array.from(rows.map((r) => r[1]));
          const bits = new Uint32Array(2 * n);
          rows.forEach((r, i) => ((bits[2 * i] = r[2]), (bits[2 * i + 1] = r[3])));
          const { type, payload } = unframe(encodeSamples(refs, ts, bits, n));
          expect(type).toBe(RECORD_SAMPLES);
          const got: number[][] = [];
          forEachSample(payload, (ref, t, hi, lo) => got.push([ref, t, lo, hi]));
          expect(got).toEqual(rows);
        },
      ),
    );
  });

  test('frame() and the in-place series encoder agree', () => {
    const labels = Labels.fromObject({ __name__: 'up', job: 'é'.repeat(50) });
    const rec = encodeSeries(7, labels);
    expect(frame(RECORD_SERIES, unframe(rec).payload).equals(rec)).toBe(true);
  });
});
