import { patternLineTest, patternLiterals } from './line-pattern.js';

describe('pattern line filters', () => {
  // Cases in the shape of Loki's pattern Matcher.Test fixtures.
  test.each([
    ['<_> error <_>', 'level=x error in db', true],
    ['<_> error <_>', 'error in db', false], // the first <_> may not be empty
    ['<_> error <_>', 'x error ', false], // nor the last
    ['<_> error <_>', 'x errors y', false],
    ['<_>', 'anything', true],
    ['<_>', '', false],
    ['', '', true],
    ['', 'x', false],
    ['GET <_>', 'GET /index', true],
    ['GET <_>', 'GET ', false],
    ['<_> 200', 'GET / 200', true],
    ['<_> 200', 'GET / 2000', false], // a pattern ending in a literal must end the line
    ['<_> 200', 'GET / 200 200', false], // only the first occurrence of a literal is taken, as in Loki
    ['<_>bar<_>', ' bar ', true],
    ['<_> bar <_>', ' bar ', false],
    ['foo <_> bar <_>', 'foo 1 bar 2', true],
    ['foo <_> bar <_>', 'foo  bar 2', false], // both spaces belong to the literals, leaving the capture empty
    ['foo <_> bar <_>', 'foo bar 2', false],
    ['foo <_>', 'xfoo y', true], // Loki searches for a leading literal instead of anchoring it
    ['<foo <_>', '<foo x', true], // `<foo ` is a literal: it does not close into a capture
    ['🤷 <_>', '🤷 shrug', true],
  ])('%j against %j: %s', (pattern, line, want) => {
    expect(patternLineTest(pattern)(line)).toBe(want);
  });

  test.each([
    ['<foo>', "named captures are not allowed: found '<foo>'"],
    ['<_> <foo> bar', "named captures are not allowed: found '<foo>'"],
    ['<_><_>', "found consecutive capture '<_><_>': invalid expression"],
    ['x <foo><_>', "found consecutive capture '<foo><_>': invalid expression"],
  ])('refuses %j', (pattern, msg) => {
    expect(() => patternLineTest(pattern)).toThrow(msg);
  });

  test('the literals are what every matching line contains', () => {
    expect(patternLiterals('<_> error <_> at <_>')).toEqual([' error ', ' at ']);
    expect(patternLiterals('<_>')).toEqual([]);
  });
});
