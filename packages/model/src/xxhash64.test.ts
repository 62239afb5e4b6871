import { xxhash64 } from './xxhash64.js';

describe('xxhash64', () => {
  // Reference values of XXH64 with seed 0 (the xxHash specification's test vectors).
  test.each([
    ['', 0xef46db3751d8e999n],
    ['a', 0xd24ec4f1a98c6e5bn],
    ['abc', 0x44bc2cf5ad770999n],
    ['message digest', 0x066ed728fceeb3ben],
    ['abcdefghijklmnopqrstuvwxyz', 0xcfe1f278fa89835cn],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 0xaaa46907d3047814n],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 0xe04a477f19ee145dn],
  ])('%j', (s, want) => {
    expect(xxhash64(Buffer.from(s)).toString(16)).toBe(want.toString(16));
  });
});
