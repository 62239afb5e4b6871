import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import { crc32cRange } from './crc32c-small.js';

test('crc32cRange equals the native crc32c of the same bytes, small and large, at any offset (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1200 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const buf = Buffer.from(bytes);
      const start = bytes.length ? a % (bytes.length + 1) : 0;
      const end = start + (b % (bytes.length - start + 1));
      expect(crc32cRange(buf, start, end)).toBe(crc32c(buf.subarray(start, end)));
    }),
  );
  // The check value of CRC-32C.
  expect(crc32cRange(Buffer.from('123456789'), 0, 9)).toBe(0xe3069283);
});
