import fc from 'fast-check';
import { RE2JS } from 're2js';
import { compileRegex, fastPath, RegexSyntaxError } from './regex.js';
import { Matcher } from './matchers.js';

describe('patterns that make a backtracking engine run for minutes', () => {
  // Each pair took a backtracking RegExp from seconds to hours; RE2 is linear in the value.
  const evil: [string, string][] = [
    ['(a+)+', `${'a'.repeat(34)}!`],
    ['(a|a)+', `${'a'.repeat(40)}!`],
    ['(a|aa)+', `${'a'.repeat(60)}!`],
    ['(.*a){20}', `${'a'.repeat(19)}b`],
    ['(a*)*b', 'a'.repeat(5000)],
    ['(x+x+)+y', 'x'.repeat(5000)],
    ['^(([a-z])+.)+[A-Z]([a-z])+$', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'],
    ['(\\w+\\s?)+$', `${'word '.repeat(200)}!`],
    ['.*.*.*.*.*.*.*.*=', 'x'.repeat(3000)],
  ];
  test.each(evil)('%s against a hostile value answers false at once', (pattern, value) => {
    const t = performance.now();
    expect(compileRegex(pattern).test(value)).toBe(false);
    // Linear time: microseconds here. The bound is loose so a busy machine cannot fail it, and
    // tight enough that any backtracking engine (seconds to hours on these) would.
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

describe('RE2 syntax and Prometheus semantics', () => {
  const table: [string, string, boolean][] = [
    ['foo', 'foo', true],
    ['foo', 'foobar', false], // fully anchored
    ['foo|bar', 'bar', true],
    ['foo|bar', 'foobar', false],
    ['a.b', 'a\nb', true], // `.` matches newlines, as Prometheus' (?s)
    ['(?i)foo', 'FoO', true],
    ['(?i:f)oo', 'Foo', true],
    ['(?i:f)oo', 'FOO', false],
    ['(?P<x>a)b', 'ab', true],
    ['\\pL+', 'héllo', true],
    ['\\d+', '123', true],
    ['\\d+', '12a', false],
    ['[[:alpha:]]+', 'abc', true],
    ['\\Qa.b\\E', 'a.b', true],
    ['\\Qa.b\\E', 'axb', false],
    ['^foo$', 'foo', true],
    ['', '', true],
    ['', 'x', false],
    ['.*', '', true],
    ['.+', '', false],
    ['foo.*', 'foobar', true],
    ['foo.*', 'xfoo', false],
    ['.*bar', 'foobar', true],
    ['.*oba.*', 'foobar', true],
    ['.+bar', 'bar', false],
    ['foo.+', 'foo', false],
    ['foo\\.bar', 'foo.bar', true],
    ['foo\\.bar', 'fooxbar', false],
    ['foo\\.*', 'foo...', true],
    ['foo\\.*', 'foobar', false],
    ['(api|web)', 'web', true],
    ['(?:api|web)-1', 'web-1', true],
    ['a{2}', 'aa', true],
    ['x*', 'xxx', true],
  ];
  test.each(table)('%j matches %j: %s', (pattern, value, want) => {
    expect(compileRegex(pattern).test(value)).toBe(want);
    expect(new Matcher('=~', 'l', pattern).matches(value)).toBe(want);
    expect(new Matcher('!~', 'l', pattern).matches(value)).toBe(!want);
  });

  test.each(['(a', 'a**', '[z-a]', '\\8', '(?<', 'a{2,1}', 'x++'])('%j is a syntax error', (pattern) => {
    expect(() => compileRegex(pattern)).toThrow(RegexSyntaxError);
    expect(() => new Matcher('=~', 'l', pattern)).toThrow(/error parsing regexp/);
  });

  test('capture groups by number and name, unknown ones empty', () => {
    const m = compileRegex('(?P<host>[^:]+):(\\d+)').exec('db-1:9090')!;
    expect([m.group(0), m.group(1), m.group(2), m.group('host'), m.group(7), m.group('nope')]).toEqual([
      'db-1:9090',
      'db-1',
      '9090',
      'db-1',
      undefined,
      undefined,
    ]);
    expect(compileRegex('(a)|b').exec('b')!.group(1)).toBeUndefined();
    expect(compileRegex('(a)').exec('ab')).toBeNull();
  });
});

describe('fast paths', () => {
  test.each([
    ['.*', true],
    ['.+', true],
    ['foo', true],
    ['foo\\.bar', true],
    ['a|b|c', true],
    ['(a|b)', true],
    ['(?:a|b)', true],
    ['foo.*', true],
    ['.*foo', true],
    ['.*foo.*', true],
    ['.+foo', true],
    ['foo.+', true],
    ['(?i)foo', false],
    ['foo\\.*', false],
    ['f.o', false],
    ['.+foo.+', false],
    ['\\d', false],
    ['(a|b.*)', false],
    ['(a)|(b)', false],
  ])('%j takes a fast path: %s', (pattern, fast) => {
    expect(fastPath(pattern) !== undefined).toBe(fast);
  });

  // The fast paths must agree with the engine on every shape they take.
  const piece = fc.constantFrom('a', 'b', 'ab', '\\.', '.', '-', '', '\\|', 'é');
  const lit = fc.array(piece, { maxLength: 4 }).map((p) => p.join(''));
  const shape = fc.oneof(
    lit,
    fc.array(lit, { minLength: 2, maxLength: 4 }).map((l) => l.join('|')),
    fc.array(lit, { minLength: 2, maxLength: 3 }).map((l) => `(${l.join('|')})`),
    fc.tuple(fc.constantFrom('', '.*', '.+'), lit, fc.constantFrom('', '.*', '.+')).map(([h, m, t]) => h + m + t),
  );
  const value = fc.array(fc.constantFrom('a', 'b', '.', '-', '|', 'é', '\n'), { maxLength: 8 }).map((p) => p.join(''));
  test('agree with RE2 on random patterns and values', () => {
    fc.assert(
      fc.property(shape, fc.array(value, { minLength: 1, maxLength: 10 }), (pattern, values) => {
        let engine: RE2JS;
        try {
          engine = RE2JS.compile(pattern, RE2JS.DOTALL);
        } catch {
          return; // not a valid pattern; compileRegex refuses it before any fast path
        }
        const re = compileRegex(pattern);
        for (const v of values) expect([pattern, v, re.test(v)]).toEqual([pattern, v, engine.matches(v)]);
      }),
      { numRuns: 3000 },
    );
  });
});
