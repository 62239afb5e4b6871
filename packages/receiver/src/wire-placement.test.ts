import fc from 'fast-check';
import { StrataError } from '@strata/model';
import { decodeWriteRequestV1 } from '@strata/remote';
import { hashSeries, seriesHashSeed } from '@strata/ring';
import { validateSeries } from './validate.js';
import { NO_WIRE_HASH, wireSeriesHash } from './wire-placement.js';

const LIMITS = { maxLabelNamesPerSeries: 6, maxLabelNameLength: 12, maxLabelValueLength: 20 };

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

function field(tag: number, bytes: number[]): number[] {
  return [tag, ...varint(bytes.length), ...bytes];
}

/** A Label message as clients write it, or in one of the other forms protobuf allows. */
function labelMessage(name: string, value: string, form: number): number[] {
  const n = [...Buffer.from(name)];
  const v = [...Buffer.from(value)];
  switch (form) {
    case 1: // value first
      return [...field(0x12, v), ...field(0x0a, n)];
    case 2: // empty fields written out
      return [...field(0x0a, n), ...field(0x12, v)];
    default: // the usual form: empty fields omitted
      return [...(n.length ? field(0x0a, n) : []), ...(v.length ? field(0x12, v) : [])];
  }
}

/** A remote-write 1.0 request of one series with these pairs (as sent, in this order) and one sample. */
function request(pairs: [string, string][], forms: number[]): Buffer {
  const labels = pairs.flatMap(([n, v], i) => field(0x0a, labelMessage(n, v, forms[i % forms.length])));
  const sample = field(0x12, [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 1]);
  return Buffer.from(field(0x0a, [...labels, ...sample]));
}

/** The router's slow path: decoded pairs, validated; the hash it places by, or the rejection. */
function oracle(tenant: string, body: Buffer): number | StrataError {
  const batch = decodeWriteRequestV1(body);
  const s = batch.series[0];
  let labels;
  try {
    labels = validateSeries(batch.labelsOf(s), { ...LIMITS } as never, false);
  } catch (e) {
    return e as StrataError;
  }
  return labels instanceof StrataError ? labels : hashSeries(tenant, labels.pairs);
}

function fast(tenant: string, body: Buffer): number {
  const batch = decodeWriteRequestV1(body);
  const s = batch.series[0];
  return s.labelsStart < 0 ? NO_WIRE_HASH : wireSeriesHash(seriesHashSeed(tenant), batch.raw, s.labelsStart, s.labelsEnd, LIMITS);
}

const text = fc.oneof(
  fc.constantFrom('', '__name__', 'job', 'instance', 'a', 'b', 'ab', 'zz', 'é', 'x'.repeat(13), 'v'.repeat(21)),
  fc.string({ maxLength: 14 }),
);

describe('placing a series from its wire bytes', () => {
  test('gives the slow path hash of every series it places, and places none the slow path rejects (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 6 }),
        fc.array(fc.tuple(text, text), { maxLength: 8 }),
        fc.boolean(),
        fc.array(fc.constantFrom(0, 0, 0, 1, 2), { minLength: 1, maxLength: 3 }),
        (tenant, pairs, sort, forms) => {
          if (sort) pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
          const body = request(pairs, forms);
          const want = oracle(tenant, body);
          const got = fast(tenant, body);
          if (got !== NO_WIRE_HASH) expect(got).toBe(want);
          if (want instanceof StrataError) expect(got).toBe(NO_WIRE_HASH);
        },
      ),
      { numRuns: 5000 },
    );
  });

  test('places the usual series (sorted ASCII, no empty values) from the bytes alone', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 6 }),
        fc.uniqueArray(fc.stringMatching(/^[a-z_][a-z0-9_]{0,11}$/), { maxLength: 5 }),
        fc.array(fc.stringMatching(/^[ -~]{1,20}$/), { minLength: 6, maxLength: 6 }),
        (tenant, names, values) => {
          const pairs: [string, string][] = [
            ['__name__', 'up'],
            ...names.filter((n) => n !== '__name__').map((n, i): [string, string] => [n, values[i]]),
          ];
          pairs.sort((a, b) => (a[0] < b[0] ? -1 : 1));
          const body = request(pairs, [0]);
          const got = fast(tenant, body);
          expect(got).not.toBe(NO_WIRE_HASH);
          expect(got).toBe(oracle(tenant, body));
        },
      ),
    );
  });

  test('leaves rejections and anything unusual to the slow path', () => {
    const t = 'tenant';
    const cases: [string, string][][] = [
      [['job', 'x']], // no metric name
      [
        ['__name__', 'up'],
        ['job', ''],
      ], // an empty value (dropped by the slow path)
      [
        ['job', 'x'],
        ['__name__', 'up'],
      ], // unsorted (sorted by the slow path)
      [
        ['__name__', 'up'],
        ['a', '1'],
        ['a', '2'],
      ], // duplicate names
      [
        ['__name__', 'up'],
        ['job', 'é'],
      ], // non-ASCII
      [
        ['__name__', 'up'],
        ['x'.repeat(13), '1'],
      ], // name over the limit
      [['__name__', 'v'.repeat(21)]], // value over the limit
      [
        ['__name__', 'up'],
        ['a', '1'],
        ['b', '1'],
        ['c', '1'],
        ['d', '1'],
        ['e', '1'],
        ['f', '1'],
      ], // too many labels
    ];
    for (const pairs of cases) expect(fast(t, request(pairs, [0]))).toBe(NO_WIRE_HASH);
    expect(fast(t, request([['__name__', 'up']], [1]))).toBe(NO_WIRE_HASH);
    expect(fast(t, request([['__name__', 'up']], [0]))).toBe(hashSeries(t, ['__name__', 'up']));
  });
});
