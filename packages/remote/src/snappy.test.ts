import { StrataError } from '@strata/model';
import { snappyDecode, snappyEncode } from './snappy.js';

test('snappy round trip and bounded decoding', () => {
  const raw = Buffer.alloc(100_000, 7);
  const c = snappyEncode(raw);
  expect(snappyDecode(c, 1 << 20).equals(raw)).toBe(true);
  expect(() => snappyDecode(c, 1000)).toThrow(/exceeds the limit/);
  expect(() => snappyDecode(Buffer.from([0x10, 0xff, 0xff]), 1000)).toThrow(StrataError);
});
