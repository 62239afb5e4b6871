/** What the evaluator asks of the store: leading line filters and, for filter-only log queries, the limit. */
import { evaluateLogql, parseLogql } from '../src/index.js';
import { at, dataset } from './logql-conformance/dataset.js';

async function hintsOf(q: string, limit = 7) {
  const store = dataset();
  await evaluateLogql(parseLogql(q), store, { startNs: at(0), endNs: at(60), stepNs: 0n, limit, direction: 'backward' });
  expect(store.hintsSeen).toHaveLength(1);
  return store.hintsSeen[0];
}

describe('LogQL push-down to the store', () => {
  test.each([
    ['one substring filter', '{app="api"} |= "needle"', ['needle']],
    ['a chain of substring filters', '{app="api"} |= "a" |= "b" != "c"', ['a', 'b']],
    ['alternatives are not required substrings', '{app="api"} |= "a" or "b"', undefined],
    ['regex filters are not substrings', '{app="api"} |~ "a.c"', undefined],
    ['filters after a parser are not pushed', '{app="api"} | json |= "x"', undefined],
    ['the leading filters before a parser are', '{app="api"} |= "x" | logfmt |= "y"', ['x']],
    ['a pattern filter requires its literals', '{app="api"} |> "<_> error <_> at <_>"', [' error ', ' at ']],
    ['a pattern filter with alternatives requires nothing', '{app="api"} |> "<_> a <_>" or "<_> b <_>"', undefined],
    ['ip filters require nothing', '{app="api"} |= ip("10.0.0.1")', undefined],
    ['metric queries push their filters too', 'count_over_time({app="api"} |= "needle" [1m])', ['needle']],
  ])('%s', async (_name, q, want) => {
    expect((await hintsOf(q)).requiredSubstrings).toEqual(want);
  });

  test.each([
    ['|= keeps lines containing the string', '{app="api"} |= "ab"', ['xaby', 'ab'], ['a', 'b a']],
    ['!= drops them', '{app="api"} != "ab"', ['a'], ['ab']],
    ['|~ is an unanchored RE2 search', '{app="api"} |~ "a[0-9]"', ['xa1y'], ['ax']],
    ['!~ negates it', '{app="api"} !~ "a[0-9]"', ['ax'], ['a1']],
    ['or takes any alternative', '{app="api"} |= "x" or "y"', ['x', 'y'], ['z']],
    ['a chain takes all', '{app="api"} |= "x" |= "y"', ['xy', 'yx'], ['x', 'y']],
    ['|> matches the whole line', '{app="api"} |> "<_> error <_>"', ['db error x'], ['error x', 'db errors']],
    ['!> negates it', '{app="api"} !> "<_> error <_>"', ['error x'], ['db error x']],
    ['|= ip() finds an address in range', '{app="api"} |= ip("10.0.0.0/8")', ['from 10.1.2.3:80'], ['from 11.1.2.3', '10.0.0']],
    ['!= ip() drops lines with one', '{app="api"} != ip("10.0.0.0/8")', ['from 11.1.2.3'], ['10.0.0.1']],
  ])('the pushed line predicate: %s', async (_name, q, pass, fail) => {
    const f = (await hintsOf(q)).lineFilter!;
    for (const l of pass) expect(f(l)).toBe(true);
    for (const l of fail) expect(f(l)).toBe(false);
  });

  test('the limit is passed only when no stage after the pushed filters can drop an entry', async () => {
    expect((await hintsOf('{app="api"} |= "x"', 7)).limit).toBe(7);
    expect((await hintsOf('{app="api"} |= "x" | json | level="error"', 7)).limit).toBeUndefined();
    expect((await hintsOf('count_over_time({app="api"}[1m])')).limit).toBeUndefined();
  });

  test('a metric query reads (first step - range - offset, last step - offset]', async () => {
    const h = await hintsOf('count_over_time({app="api"}[30s] offset 10s)');
    expect(h.startNs).toBe(at(20) + 1n);
    expect(h.endNs).toBe(at(50) + 1n);
  });
});
