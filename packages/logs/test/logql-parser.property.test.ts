/** Property tests of the LogQL parser: printed trees parse back to themselves; no input makes it fail other than with a parse error. */
import fc from 'fast-check';
import { StrataError } from '@strata/model';
import { evaluateLogql, formatLogql, LogqlParseError, parseLogql } from '../src/index.js';
import { at, dataset } from './logql-conformance/dataset.js';

const name = fc.constantFrom('app', 'env', 'host', 'level', 'status', 'latency', 'size', 'x_1');
const value = fc.constantFrom('api', 'prod', 'a"b', 'new\nline', 'back\\slash', 'ünï', '', 'h1');
const regex = fc.constantFrom('a.*', '.+', 'x|y', '(?i)err', '[0-9]+', 'a\\.b');
const quoted = (s: string) => JSON.stringify(s);

const matcher = fc.oneof(
  fc.tuple(name, fc.constantFrom('=', '!='), value).map(([n, op, v]) => `${n}${op}${quoted(v)}`),
  fc.tuple(name, fc.constantFrom('=~', '!~'), regex).map(([n, op, v]) => `${n}${op}${quoted(v)}`),
);
// At least one matcher that cannot match the empty string.
const selector = fc.array(matcher, { maxLength: 3 }).map((ms) => `{app="api"${ms.map((m) => ', ' + m).join('')}}`);

const ip = fc.constantFrom('10.0.0.1', '10.0.0.0/8', '10.0.0.1-10.0.0.9', '::1', '2001:db8::/32').map((p) => `ip(${quoted(p)})`);
const lineFilter = fc.oneof(
  fc
    .tuple(fc.constantFrom('|=', '!='), fc.array(value, { minLength: 1, maxLength: 3 }))
    .map(([op, vs]) => `${op} ${vs.map(quoted).join(' or ')}`),
  fc.tuple(fc.constantFrom('|~', '!~'), regex).map(([op, r]) => `${op} ${quoted(r)}`),
  fc
    .tuple(fc.constantFrom('|>', '!>'), fc.array(fc.constantFrom('<_> error <_>', '', 'GET <_>', '<_>"x"'), { minLength: 1, maxLength: 2 }))
    .map(([op, vs]) => `${op} ${vs.map(quoted).join(' or ')}`),
  fc
    .tuple(fc.constantFrom('|=', '!='), fc.array(fc.oneof(value.map(quoted), ip), { minLength: 1, maxLength: 3 }))
    .map(([op, vs]) => `${op} ${vs.join(' or ')}`),
);
const labelFilterAtom = fc.oneof(
  matcher,
  fc.tuple(name, fc.constantFrom('=', '!='), ip).map(([n, op, v]) => `${n}${op}${v}`),
  fc
    .tuple(name, fc.constantFrom('==', '!=', '>', '>=', '<', '<='), fc.constantFrom('1', '2.5', '250ms', '1h30m', '20MB', '1KiB', '-3'))
    .map(([n, op, v]) => `${n} ${op} ${v}`),
);
const labelFilter = fc
  .tuple(labelFilterAtom, fc.array(fc.tuple(fc.constantFrom(' and ', ' or ', ', ', ' '), labelFilterAtom), { maxLength: 2 }))
  .map(([first, rest]) => first + rest.map(([op, a]) => op + a).join(''));
const stage = fc.oneof(
  lineFilter,
  fc.constantFrom(
    '| json',
    '| logfmt',
    '| logfmt --strict',
    '| unpack',
    '| decolorize',
    '| json a="user.id", b=`tags[0]`',
    '| logfmt --keep-empty x="y"',
  ),
  fc.constantFrom('| regexp `(?P<ip>\\S+) (?P<rest>.*)`', '| pattern `<ip> - <_> <path>`', '| line_format "{{.app}} {{ __line__ }}"'),
  fc.constantFrom('| label_format a=app, b="{{.env}}"', '| drop a, b="x"', '| keep app, env=~"p.*"'),
  labelFilter.map((f) => `| ${f}`),
);
const logExpr = fc.tuple(selector, fc.array(stage, { maxLength: 4 })).map(([s, st]) => s + st.map((x) => ' ' + x).join(''));
const range = fc.constantFrom('1m', '30s', '5m', '1h', '250ms');
const rangeAgg = fc.oneof(
  fc
    .tuple(fc.constantFrom('rate', 'count_over_time', 'bytes_over_time', 'bytes_rate', 'absent_over_time'), logExpr, range)
    .map(([f, l, r]) => `${f}(${l} [${r}])`),
  fc
    .tuple(
      fc.constantFrom('sum_over_time', 'avg_over_time', 'max_over_time', 'stddev_over_time', 'rate_counter', 'first_over_time'),
      logExpr,
      fc.constantFrom('latency', 'duration(latency)', 'bytes(size)'),
      range,
      fc.constantFrom('', ' by (app)', ' without (env)'),
    )
    .map(([f, l, u, r, g]) => `${f}(${l} | unwrap ${u} | __error__="" [${r}])${g}`),
  fc.tuple(logExpr, range).map(([l, r]) => `quantile_over_time(0.9, ${l} | unwrap status [${r}] offset 5m)`),
);
const sampleExpr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    rangeAgg,
    fc.constantFrom('1', '2.5', 'vector(0)'),
    fc
      .tuple(
        fc.constantFrom('sum', 'avg', 'min', 'max', 'count', 'stddev'),
        fc.constantFrom('', ' by (app)', ' without (env, host)'),
        tie('e'),
      )
      .map(([op, g, e]) => `${op}${g} (${e})`),
    fc.tuple(fc.constantFrom('topk', 'bottomk'), fc.integer({ min: 1, max: 5 }), tie('e')).map(([op, k, e]) => `${op}(${k}, ${e})`),
    fc
      .tuple(
        tie('e'),
        fc.constantFrom(
          '+',
          '-',
          '*',
          '/',
          '%',
          '^',
          '> bool',
          '== bool',
          'and',
          'or',
          'unless',
          '+ on (app)',
          '/ ignoring (env) group_left',
        ),
        tie('e'),
      )
      .map(([a, op, b]) => `(${a}) ${op} (${b})`),
    tie('e').map((e) => `label_replace(${e}, "dst", "$1", "app", "(.*)")`),
  ),
})).e;
const query = fc.oneof(logExpr, sampleExpr);

describe('LogQL parser properties', () => {
  test('printing a parsed query and parsing it again gives the same tree', () => {
    fc.assert(
      fc.property(query, (q) => {
        let printed: string;
        try {
          printed = formatLogql(parseLogql(q));
        } catch (e) {
          // Generated queries can still be invalid (e.g. a comparison of two scalars without bool).
          if (e instanceof LogqlParseError) return;
          throw e;
        }
        expect(formatLogql(parseLogql(printed))).toBe(printed);
      }),
      { numRuns: 400 },
    );
  });

  test('most generated queries are valid (the generator exercises the parser, not only its errors)', () => {
    const qs = fc.sample(query, 300);
    const ok = qs.filter((q) => {
      try {
        parseLogql(q);
        return true;
      } catch {
        return false;
      }
    });
    expect(ok.length).toBeGreaterThan(200);
  });

  test('random text and mutated queries fail only with a parse error', () => {
    const mutated = fc.tuple(query, fc.nat(), fc.nat(), fc.string({ maxLength: 3 })).map(([q, i, n, ins]) => {
      const at = i % (q.length + 1);
      return q.slice(0, at) + ins + q.slice(at + (n % 4));
    });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 30 }), mutated), (q) => {
        try {
          parseLogql(q);
        } catch (e) {
          expect(e).toBeInstanceOf(LogqlParseError);
          expect((e as Error).message).toMatch(/^parse error (at line \d+, col \d+)?: /);
        }
      }),
      { numRuns: 800 },
    );
  });

  test('evaluating any valid generated query answers or fails with a stable error', async () => {
    const q = dataset();
    await fc.assert(
      fc.asyncProperty(query, async (src) => {
        let expr;
        try {
          expr = parseLogql(src);
        } catch {
          return;
        }
        try {
          await evaluateLogql(expr, q, { startNs: at(0), endNs: at(60), stepNs: 10_000_000_000n, limit: 100, direction: 'backward' });
        } catch (e) {
          if (!(e instanceof StrataError || e instanceof LogqlParseError)) throw e;
        }
      }),
      { numRuns: 150 },
    );
  });
});
