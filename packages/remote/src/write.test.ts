import fc from 'fast-check';
import { Labels, StrataError } from '@strata/model';
import { decodeWriteRequestV1, encodeWriteRequestV1, wireLabelsEqual, type SeriesToWrite } from './write-v1.js';
import { decodeWriteRequestV2, encodeWriteRequestV2 } from './write-v2.js';
import { snappyDecode, snappyEncode } from './snappy.js';
import { decodeSeriesSelection, encodeSeriesSelection } from './series-selection.js';
import { decodeReadResponse, encodeReadResponse } from './read.js';
import type { WriteBatch } from './write-batch.js';

const STALE = new Float64Array(new Uint32Array([2, 0x7ff00000]).buffer)[0];

const labelStr = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'b', '_', 'é', '😀', '1', '.') });
const seriesArb: fc.Arbitrary<SeriesToWrite> = fc
  .record({
    labels: fc.uniqueArray(fc.tuple(labelStr, labelStr), { selector: (t) => t[0], minLength: 1, maxLength: 6 }),
    samples: fc.array(fc.tuple(fc.integer({ min: -2e12, max: 4e12 }), fc.oneof(fc.double(), fc.constant(STALE), fc.constant(-0))), { maxLength: 5 }),
  })
  .map(({ labels, samples }) => {
    // Values live in a typed array: V8 may quiet NaN payloads held in plain JS arrays.
    const values = new Float64Array(samples.length);
    samples.forEach((s, i) => (values[i] = s[1]));
    return { labels: Labels.fromPairs(labels.flat()), timestamps: samples.map((s) => s[0]), values };
  });

function valueBits(v: number): string {
  const f = new Float64Array(1);
  f[0] = v; // not via an array literal, which may quiet a NaN payload
  return Buffer.from(f.buffer).toString('hex');
}

function check(batch: WriteBatch, series: SeriesToWrite[]): void {
  expect(batch.series.length).toBe(series.length);
  series.forEach((s, i) => {
    const got = batch.series[i];
    expect(batch.labelsOf(got)).toEqual(s.labels.pairs);
    expect(got.sampleEnd - got.sampleStart).toBe(s.timestamps.length);
    for (let k = 0; k < s.timestamps.length; k++) {
      expect(batch.timestamps[got.sampleStart + k]).toBe(s.timestamps[k]);
      // bit-exact, including staleness markers and -0
      expect(valueBits(batch.values[got.sampleStart + k])).toBe(valueBits(s.values[k] as number));
    }
  });
}

describe('remote-write wire formats', () => {
  test('1.0 encode → decode round trip (property)', () => {
    fc.assert(fc.property(fc.array(seriesArb, { maxLength: 8 }), (series) => check(decodeWriteRequestV1(encodeWriteRequestV1(series)), series)));
  });

  test('2.0 encode → decode round trip (property)', () => {
    fc.assert(fc.property(fc.array(seriesArb, { maxLength: 8 }), (series) => check(decodeWriteRequestV2(encodeWriteRequestV2(series)), series)));
  });

  test('a series selection decodes exactly the selected series, in 1.0 and 2.0 (property)', () => {
    const arb = fc.array(fc.tuple(seriesArb, fc.boolean()), { maxLength: 20 });
    fc.assert(
      fc.property(arb, (picked) => {
        const series = picked.map(([s]) => s);
        const indices = picked.flatMap(([, keep], i) => (keep ? [i] : []));
        const want = indices.map((i) => series[i]);
        const sel = decodeSeriesSelection(encodeSeriesSelection(indices, series.length));
        check(decodeWriteRequestV1(encodeWriteRequestV1(series), sel), want);
        check(decodeWriteRequestV2(encodeWriteRequestV2(series), sel), want);
      }),
    );
  });

  test.each([
    ['no count', 'AAA'],
    ['negative count', '-1:'],
    ['bitmap shorter than the count', '9:AA'],
    ['bitmap longer than the count', '3:AAAA'],
    ['count not a number', 'x:AA'],
  ])('a malformed series selection is a 400 (%s)', (_name, header) => {
    expect(() => decodeSeriesSelection(header)).toThrow(expect.objectContaining({ id: 'invalid-request-body', status: 400 }));
  });

  test('a selection made for another number of series is refused, not misapplied', () => {
    const body = encodeWriteRequestV1([{ labels: Labels.fromObject({ __name__: 'a' }), timestamps: [1], values: [1] }]);
    const sel = decodeSeriesSelection(encodeSeriesSelection([0], 2));
    expect(() => decodeWriteRequestV1(body, sel)).toThrow(/selects among 2 series but the body has 1/);
    expect(() => decodeWriteRequestV2(encodeWriteRequestV2([{ labels: Labels.fromObject({ __name__: 'a' }), timestamps: [1], values: [1] }]), sel)).toThrow(StrataError);
  });

  test('1.0 metadata and 2.0 per-series metadata survive', () => {
    const b1 = decodeWriteRequestV1(encodeWriteRequestV1([], [{ metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' }]));
    expect(b1.metadata).toEqual([{ metricFamilyName: 'up', type: 'gauge', help: 'Up.', unit: '' }]);
    const s = { labels: Labels.fromObject({ __name__: 'x_seconds' }), timestamps: [1], values: [2], metadata: { type: 'counter' as const, help: 'H', unit: 'seconds' } };
    expect(decodeWriteRequestV2(encodeWriteRequestV2([s])).series[0].metadata).toEqual({ type: 'counter', help: 'H', unit: 'seconds' });
  });

  test('random bytes and truncations fail only with StrataError', () => {
    const ok = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(StrataError);
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        ok(() => {
          const b = decodeWriteRequestV1(Buffer.from(bytes));
          b.series.forEach((s) => b.labelsOf(s));
        });
        ok(() => decodeWriteRequestV2(Buffer.from(bytes)));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(seriesArb, { minLength: 1, maxLength: 4 }), fc.nat(), (series, cut) => {
        const v1 = encodeWriteRequestV1(series);
        const v2 = encodeWriteRequestV2(series);
        ok(() => {
          const b = decodeWriteRequestV1(v1.subarray(0, cut % v1.length));
          b.series.forEach((s) => b.labelsOf(s));
        });
        ok(() => decodeWriteRequestV2(v2.subarray(0, cut % v2.length)));
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

  test('2.0 out-of-range symbol references are a clear error', () => {
    const body = encodeWriteRequestV2([{ labels: Labels.fromObject({ __name__: 'a' }), timestamps: [1], values: [1] }]);
    // Drop the symbol table (leading field-4 entries) so the references dangle.
    let p = 0;
    while (body[p] === 0x22) p += 2 + body[p + 1];
    expect(() => decodeWriteRequestV2(body.subarray(p))).toThrow(/symbol reference/);
  });

  test('1.0 wire labels: equal hash and verified equality exactly when the label sets are equal', () => {
    fc.assert(
      fc.property(seriesArb, seriesArb, (a, b) => {
        const ba = decodeWriteRequestV1(encodeWriteRequestV1([a]));
        const bb = decodeWriteRequestV1(encodeWriteRequestV1([b]));
        const sa = ba.series[0];
        const sb = bb.series[0];
        const same = a.labels.equals(b.labels);
        if (same) expect(sa.labelsHash).toBe(sb.labelsHash);
        // eslint-disable-next-line no-control-regex
        const ascii = a.labels.pairs.every((x) => /^[\x00-\x7f]*$/.test(x));
        // Verification never confuses two label sets; for ASCII labels it recognises equal ones.
        expect(wireLabelsEqual(ba.raw, sa.labelsStart, sa.labelsEnd, b.labels.pairs)).toBe(same && ascii);
      }),
      { numRuns: 500 },
    );
  });

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

  test('snappy round trip and bounded decoding', () => {
    const raw = Buffer.alloc(100_000, 7);
    const c = snappyEncode(raw);
    expect(snappyDecode(c, 1 << 20).equals(raw)).toBe(true);
    expect(() => snappyDecode(c, 1000)).toThrow(/exceeds the limit/);
    expect(() => snappyDecode(Buffer.from([0x10, 0xff, 0xff]), 1000)).toThrow(StrataError);
  });
});
