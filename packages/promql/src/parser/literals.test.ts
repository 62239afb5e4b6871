import { goQuoteBytes, isValidUtf8, unquoteBytes } from './literals.js';

describe('goQuoteBytes (Go strconv.Quote of the bytes a literal stands for)', () => {
  test.each([
    ['"abc"', '"abc"'],
    ['"a\\xc5z"', '"a\\xc5z"'],
    ['"é ü"', '"é ü"'],
    ['"tab\\tquote\\"back\\\\"', '"tab\\tquote\\"back\\\\"'],
    ['"\\x01\\x7f"', '"\\x01\\x7f"'],
    ['"\\u200b"', '"\\u200b"'],
    ['`raw\\x`', '"raw\\\\x"'],
  ])('%s quotes as %s', (lit, want) => {
    expect(goQuoteBytes(unquoteBytes(lit))).toBe(want);
  });

  test('validity follows the bytes, not their lenient decoding', () => {
    expect(isValidUtf8(unquoteBytes('"a\\xc5z"'))).toBe(false);
    expect(isValidUtf8(unquoteBytes('"a\\xc3\\x85z"'))).toBe(true);
  });
});
