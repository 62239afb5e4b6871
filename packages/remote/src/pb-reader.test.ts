import fc from 'fast-check';
import { Labels, StrataError } from '@strata/model';
import { PbReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './pb-reader.js';
import { decodeWriteRequestV1, encodeWriteRequestV1 } from './write-v1.js';
import { decodeReadResponse, encodeReadResponse } from './read.js';

// A field as the test encoder writes it and the iterator must give back.
type Field =
  | { field: number; wire: typeof WIRE_VARINT; value: number }
  | { field: number; wire: typeof WIRE_FIXED64; value: number }
  | { field: number; wire: typeof WIRE_FIXED32; bits: number }
  | { field: number; wire: typeof WIRE_LEN; bytes: Uint8Array; nested?: Field[] };

/** A deliberately naive encoder (BigInt varints, byte arrays), independent of PbWriter. */
function varintBytes(v: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

function encode(fields: readonly Field[]): Uint8Array {
  const out: number[] = [];
  for (const f of fields) {
    out.push(...varintBytes(BigInt(f.field) * 8n + BigInt(f.wire)));
    if (f.wire === WIRE_VARINT) out.push(...varintBytes(BigInt(f.value)));
    else if (f.wire === WIRE_FIXED64) {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(f.value);
      out.push(...b);
    } else if (f.wire === WIRE_FIXED32) {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(f.bits);
      out.push(...b);
    } else {
      const body = f.nested ? encode(f.nested) : f.bytes;
      out.push(...varintBytes(BigInt(body.length)), ...body);
    }
  }
  return Uint8Array.from(out);
}

// Field numbers span one- to five-byte tags (the largest legal field number is 2^29 - 1).
const fieldNumber = fc.oneof(fc.integer({ min: 1, max: 15 }), fc.integer({ min: 16, max: 2 ** 29 - 1 }));
const scalarField: fc.Arbitrary<Field> = fc.oneof(
  fc.record({ field: fieldNumber, wire: fc.constant(WIRE_VARINT), value: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.maxSafeNat()) }),
  fc.record({ field: fieldNumber, wire: fc.constant(WIRE_FIXED64), value: fc.double({ noNaN: true }) }),
  fc.record({ field: fieldNumber, wire: fc.constant(WIRE_FIXED32), bits: fc.nat({ max: 0xffffffff }) }),
  fc.record({ field: fieldNumber, wire: fc.constant(WIRE_LEN), bytes: fc.uint8Array({ maxLength: 200 }) }),
);
const nestedField: fc.Arbitrary<Field> = fc.record({
  field: fieldNumber,
  wire: fc.constant(WIRE_LEN),
  bytes: fc.constant(new Uint8Array(0)),
  nested: fc.array(scalarField, { maxLength: 6 }),
});
const fields = fc.array(fc.oneof(scalarField, nestedField), { maxLength: 12 });

/** Reads a field's value with the accessor its wire type calls for and checks it. */
function readAndCheck(r: PbReader, f: Field): void {
  if (f.wire === WIRE_VARINT) expect(r.varint()).toBe(f.value);
  else if (f.wire === WIRE_FIXED64) expect(r.double()).toBe(f.value);
  else if (f.wire === WIRE_FIXED32) r.skipField();
  else if (f.nested) {
    const outer = r.enter();
    expectFields(r, f.nested, () => true);
    r.leave(outer);
  } else expect(Buffer.from(r.bytes()).equals(Buffer.from(f.bytes))).toBe(true);
}

/** Walks r, checking number, wire type and tag offset of each field; reads those `read` picks. */
function expectFields(r: PbReader, want: readonly Field[], read: (i: number) => boolean): void {
  let tagAt = r.pos;
  for (let i = 0; i < want.length; i++) {
    expect(r.nextField()).toBe(true);
    expect([r.field, r.wire, r.tagAt]).toEqual([want[i].field, want[i].wire, tagAt]);
    if (read(i)) readAndCheck(r, want[i]);
    tagAt += encode([want[i]]).length;
  }
  expect(r.nextField()).toBe(false);
  expect(r.pos).toBe(r.end);
}

describe('PbReader field iterator', () => {
  test('gives back every encoded field, read or left for nextField() to skip', () => {
    fc.assert(
      fc.property(fields, fc.array(fc.boolean(), { maxLength: 12 }), (want, reads) => {
        expectFields(new PbReader(Buffer.from(encode(want))), want, (i) => reads[i] ?? false);
      }),
    );
  });

  test('leave() moves past a nested message whatever was left unread in it', () => {
    fc.assert(
      fc.property(fc.array(scalarField, { maxLength: 6 }), fc.nat(), fields, (inner, readCount, after) => {
        const buf = Buffer.from(encode([{ field: 1, wire: WIRE_LEN, bytes: new Uint8Array(0), nested: inner }, ...after]));
        const r = new PbReader(buf);
        expect(r.nextField()).toBe(true);
        const outer = r.enter();
        for (let i = 0; i < Math.min(readCount, inner.length); i++) {
          expect(r.nextField()).toBe(true);
          readAndCheck(r, inner[i]);
        }
        r.leave(outer);
        expect(r.end).toBe(buf.length);
        expectFields(r, after, () => false);
      }),
    );
  });

  test('a message cut anywhere inside a field is a StrataError, never a read past the end', () => {
    fc.assert(
      fc.property(
        fields.filter((f) => f.length > 0),
        fc.nat(),
        fc.boolean(),
        (want, cutAt, read) => {
          const full = encode(want);
          const boundaries = new Set<number>([0]);
          let at = 0;
          for (const f of want) boundaries.add((at += encode([f]).length));
          const cut = cutAt % full.length;
          const r = new PbReader(Buffer.from(full.subarray(0, cut)));
          const walk = (): void => {
            for (let i = 0; r.nextField(); i++) if (read) readAndCheck(r, want[i]);
          };
          if (boundaries.has(cut)) walk();
          else {
            let err: unknown;
            try {
              walk();
            } catch (e) {
              err = e;
            }
            // Read or skipped, the cut field's tag, value or length runs past the end.
            expect(err).toBeInstanceOf(StrataError);
            expect((err as StrataError).id).toBe('invalid-request-body');
          }
        },
      ),
    );
  });

  test('a wire type that protobuf no longer allows is an error, not a guess', () => {
    for (const wire of [3, 4, 6, 7]) {
      const r = new PbReader(Buffer.from([(1 << 3) | wire, 0, 0, 0, 0, 0, 0, 0, 0]));
      expect(r.nextField()).toBe(true);
      expect(r.wire).toBe(wire);
      expect(() => r.nextField()).toThrow('malformed protobuf: unsupported wire type');
    }
  });
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
