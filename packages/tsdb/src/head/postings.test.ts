import fc from 'fast-check';
import { Matcher, type MatchType } from '@strata/model';
import { TopK } from './top-k.js';
import { intersect, intersectCount, intersects, PostingsIndex } from './postings.js';

/** The largest k of all entries by value, then name: what a bounded top-k must return. */
function bruteTop(entries: Map<string, number>, k: number): { name: string; value: number }[] {
  return [...entries]
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, k);
}

describe('cardinality statistics', () => {
  test('top-k equals sorting everything and cutting (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.string({ maxLength: 4 }), fc.nat({ max: 20 })), { selector: (t) => t[0], maxLength: 60 }),
        fc.integer({ min: 1, max: 12 }),
        (entries, k) => {
          const t = new TopK(k);
          for (const [n, v] of entries) t.push(n, v);
          expect(t.result()).toEqual(bruteTop(new Map(entries), k));
        },
      ),
    );
  });

  test('postings stats match a direct count over the series (property)', () => {
    const series = fc.uniqueArray(
      fc.record({
        __name__: fc.constantFrom('up', 'http_requests_total', 'é_bytes'),
        job: fc.constantFrom('a', 'b', 'ccc'),
        pod: fc.option(fc.constantFrom('p1', 'p2', 'p-ü'), { nil: undefined }),
      }),
      { selector: (r) => JSON.stringify(r), minLength: 1, maxLength: 40 },
    );
    fc.assert(
      fc.property(series, fc.integer({ min: 1, max: 6 }), (rows, limit) => {
        const idx = new PostingsIndex();
        const byMetric = new Map<string, number>();
        const byPair = new Map<string, number>();
        const values = new Map<string, Set<string>>();
        const bytes = new Map<string, number>();
        rows.forEach((r, ref) => {
          const pairs = Object.entries(r)
            .filter(([, v]) => v !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .flat() as string[];
          idx.add(ref + 1, pairs);
          byMetric.set(r.__name__, (byMetric.get(r.__name__) ?? 0) + 1);
          for (let i = 0; i < pairs.length; i += 2) {
            byPair.set(`${pairs[i]}=${pairs[i + 1]}`, (byPair.get(`${pairs[i]}=${pairs[i + 1]}`) ?? 0) + 1);
            values.set(pairs[i], (values.get(pairs[i]) ?? new Set()).add(pairs[i + 1]));
            // Prometheus 3: name and value with a 1-byte length each (all shorter than 255 bytes here).
            bytes.set(pairs[i], (bytes.get(pairs[i]) ?? 0) + Buffer.byteLength(pairs[i]) + 1 + Buffer.byteLength(pairs[i + 1]) + 1);
          }
        });
        const s = idx.stats('__name__', limit);
        expect(s.seriesCountByMetricName).toEqual(bruteTop(byMetric, limit));
        expect(s.seriesCountByLabelValuePair).toEqual(bruteTop(byPair, limit));
        expect(s.labelValueCountByLabelName).toEqual(bruteTop(new Map([...values].map(([n, v]) => [n, v.size])), limit));
        expect(s.memoryInBytesByLabelName).toEqual(bruteTop(bytes, limit));
        expect(s.numLabelPairs).toBe(byPair.size);
      }),
    );
  });

  test('label bytes count a 4-byte length prefix from 255 bytes on, as Prometheus 3 does', () => {
    const idx = new PostingsIndex();
    idx.add(1, ['__name__', 'm', 'long', 'x'.repeat(255)]);
    idx.add(2, ['__name__', 'm', 'long', 'é'.repeat(10)]);
    const bytes = Object.fromEntries(idx.stats('__name__', 10).memoryInBytesByLabelName.map((s) => [s.name, s.value]));
    expect(bytes).toEqual({ long: 5 + (255 + 4) + 5 + (20 + 1), __name__: 2 * (9 + 2) });
  });

  test('intersection counts equal set intersection sizes (property)', () => {
    const sorted = fc.uniqueArray(fc.nat({ max: 300 }), { maxLength: 80 }).map((a) => Uint32Array.from(a.sort((x, y) => x - y)));
    fc.assert(
      fc.property(sorted, sorted, (a, b) => {
        const bs = new Set(b);
        expect(intersectCount(a, b)).toBe([...a].filter((x) => bs.has(x)).length);
      }),
    );
  });

  test('intersections equal set intersections, of lists of like and of very unlike lengths (property)', () => {
    const short = fc.uniqueArray(fc.nat({ max: 3000 }), { maxLength: 12 }).map((a) => Uint32Array.from(a.sort((x, y) => x - y)));
    const long = fc
      .uniqueArray(fc.nat({ max: 3000 }), { minLength: 200, maxLength: 900 })
      .map((a) => Uint32Array.from(a.sort((x, y) => x - y)));
    fc.assert(
      fc.property(fc.oneof(short, long), fc.oneof(short, long), (a, b) => {
        const bs = new Set(b);
        const want = [...a].filter((x) => bs.has(x));
        expect(Array.from(intersect(a, b))).toEqual(want);
        expect(Array.from(intersect(b, a))).toEqual(want);
      }),
    );
  });

  test('a selection by several matchers is the series matching them all, whatever the list lengths (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 40 }), fc.nat({ max: 3 }), fc.boolean()), { minLength: 1, maxLength: 300 }),
        fc.nat({ max: 40 }),
        fc.nat({ max: 3 }),
        (rows, inst, code) => {
          const idx = new PostingsIndex();
          rows.forEach(([i, c, odd], ref) =>
            idx.add(ref + 1, ['__name__', 'm', 'code', String(c), 'instance', String(i), 'odd', String(odd)]),
          );
          const ms = [
            new Matcher('=', '__name__', 'm'),
            new Matcher('=', 'instance', String(inst)),
            new Matcher('=~', 'code', `${code}|${(code + 1) % 4}`),
            new Matcher('!=', 'odd', 'true'),
          ];
          const want = rows.flatMap(([i, c, odd], ref) => (i === inst && (c === code || c === (code + 1) % 4) && !odd ? [ref + 1] : []));
          expect(Array.from(idx.select(ms))).toEqual(want);
        },
      ),
    );
  });

  test('value counts among selected series match a direct count (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('x', 'y'), fc.boolean()), { minLength: 1, maxLength: 40 }),
        (rows) => {
          const idx = new PostingsIndex();
          rows.forEach(([job, env], i) => idx.add(i + 1, ['env', env, 'job', job]));
          const selected = Uint32Array.from(rows.flatMap(([, , keep], i) => (keep ? [i + 1] : [])));
          const got = idx.valueCounts(['env', 'nope'], selected);
          const want = new Map<string, number>();
          rows.forEach(([, env, keep]) => keep && want.set(env, (want.get(env) ?? 0) + 1));
          expect(got.get('env')).toEqual(want);
          expect(got.get('nope')).toEqual(new Map());
          // Without names: every label name some selected series holds.
          expect([...idx.valueCounts(undefined, selected).keys()].sort()).toEqual(selected.length > 0 ? ['env', 'job'] : []);
        },
      ),
    );
  });
});

describe('label values from postings', () => {
  const sortedRefs = fc.uniqueArray(fc.nat({ max: 300 }), { maxLength: 120 }).map((a) => Uint32Array.from(a.sort((x, y) => x - y)));

  test('intersects(a, b) is whether the lists share a ref (property)', () => {
    fc.assert(
      fc.property(sortedRefs, sortedRefs, (a, b) => {
        const shared = [...a].some((x) => b.includes(x));
        expect(intersects(a, b)).toBe(shared);
        expect(intersects(b, a)).toBe(shared);
      }),
    );
  });

  test('labelValuesAmong equals the sorted distinct values of the selected series, by either path (property)', () => {
    const rows = fc.array(fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'é', 'zz'), { nil: undefined }), { minLength: 1, maxLength: 80 });
    fc.assert(
      fc.property(rows, fc.array(fc.boolean(), { maxLength: 80 }), fc.integer({ min: 0, max: 2 }), (values, pick, extra) => {
        const idx = new PostingsIndex();
        // Refs start at 1 and grow, as the head hands them out; `extra` adds unrelated labels.
        values.forEach((v, i) => {
          const pairs = ['__name__', 'm', ...(extra > 0 ? ['j', String(i % extra)] : [])];
          if (v !== undefined) pairs.push('x', v);
          idx.add(i + 1, pairs.length > 2 ? sortPairs(pairs) : pairs);
        });
        const selected = Uint32Array.from(values.map((_, i) => i + 1).filter((_, i) => pick[i]));
        const want = [...new Set([...selected].map((r) => values[r - 1]).filter((v) => v !== undefined))].sort();
        expect(idx.labelValuesAmong('x', selected, (ref) => values[ref - 1])).toEqual(want);
        // Cached sorted values stay right as series come.
        expect(idx.labelValues('x')).toEqual([...new Set(values.filter((v) => v !== undefined))].sort());
      }),
    );
  });
});

function sortPairs(pairs: string[]): string[] {
  const out: [string, string][] = [];
  for (let i = 0; i < pairs.length; i += 2) out.push([pairs[i], pairs[i + 1]]);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1)).flat();
}

describe('select', () => {
  test('equals filtering the series one by one, whole-label regexes and removed series included (property)', () => {
    // Regexes matching every value of a label (.+, .*) take the all-refs shortcut exactly when
    // every live series holds the label; the brute force says what they must answer either way.
    const row = fc.record({
      __name__: fc.constantFrom('up', 'http_requests_total'),
      job: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
      pod: fc.constantFrom('p1', 'p2', 'p3'),
    });
    const matcher = fc.tuple(
      fc.constantFrom<MatchType>('=~', '!~', '=', '!='),
      fc.constantFrom('__name__', 'job', 'pod'),
      fc.constantFrom('.+', '.*', 'a|b', 'up', 'p1|p2', ''),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(row, { selector: (r) => JSON.stringify(r), minLength: 1, maxLength: 30 }),
        fc.array(matcher, { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat({ max: 29 }), { maxLength: 5 }),
        (rows, ms, deadRefs) => {
          const idx = new PostingsIndex();
          const labelsOf = (r: (typeof rows)[number]): Record<string, string | undefined> => r;
          rows.forEach((r, ref) =>
            idx.add(ref, sortPairs(Object.entries(labelsOf(r)).flatMap(([n, v]) => (v === undefined ? [] : [n, v])))),
          );
          const dead = new Set(deadRefs.filter((d) => d < rows.length));
          idx.remove(dead);
          const matchers = ms.map(([t, n, v]) => new Matcher(t, n, v));
          const want = rows
            .map((r, ref) => ({ r: labelsOf(r), ref }))
            .filter(({ r, ref }) => !dead.has(ref) && matchers.every((m) => m.matches(r[m.name] ?? '')))
            .map(({ ref }) => ref);
          expect([...idx.select(matchers)]).toEqual(want);
        },
      ),
    );
  });
});
