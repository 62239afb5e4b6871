import fc from 'fast-check';
import { Labels, LabelsBuilder } from './labels.js';
import { Matcher } from './matchers.js';

// Label sets over a tiny alphabet that includes separator-like characters, so collisions are likely to be tried.
const str = fc.string({ unit: fc.constantFrom('a', 'b', '\xff', ':', '1'), minLength: 1, maxLength: 4 });
const pairsArb = fc.array(fc.tuple(str, str), { maxLength: 4 }).map((ts) => ts.flat());

describe('Labels', () => {
  test('sorted, unique, empty values dropped', () => {
    const l = Labels.fromPairs(['job', 'a', '__name__', 'up', 'empty', '', 'job', 'b']);
    expect(l.pairs).toEqual(['__name__', 'up', 'job', 'b']);
    expect(l.toString()).toBe('up{job="b"}');
    expect(l.get('job')).toBe('b');
    expect(l.get('nope')).toBe('');
  });

  test('UTF-8 names are quoted in the text form', () => {
    expect(Labels.fromObject({ __name__: 'my.metric', 'a.b': 'x' }).toString()).toBe('{"my.metric", "a.b"="x"}');
    expect(Labels.fromObject({ __name__: 'up' }).toString()).toBe('up');
  });

  test('keys are unambiguous and compare is a total order consistent with equals', () => {
    fc.assert(
      fc.property(pairsArb, pairsArb, (a, b) => {
        const la = Labels.fromPairs(a);
        const lb = Labels.fromPairs(b);
        expect(la.key() === lb.key()).toBe(la.equals(lb));
        expect(Labels.compare(la, lb) === 0).toBe(la.equals(lb));
        expect(Math.sign(Labels.compare(la, lb)) + Math.sign(Labels.compare(lb, la))).toBe(0);
      }),
    );
  });

  test('with() sets, replaces and removes one label as the builder does', () => {
    fc.assert(
      fc.property(pairsArb, str, fc.oneof(str, fc.constant('')), (pairs, name, value) => {
        const l = Labels.fromPairs(pairs);
        expect(l.with(name, value).pairs).toEqual(new LabelsBuilder(l).set(name, value).labels().pairs);
      }),
    );
  });

  test('builder', () => {
    const l = new LabelsBuilder(Labels.fromObject({ a: '1', b: '2' })).set('c', '3').del('a').set('b', '').labels();
    expect(l.toObject()).toEqual({ c: '3' });
  });
});

describe('Matcher', () => {
  test.each([
    ['=', 'a', 'a', true],
    ['=', 'a', 'b', false],
    ['!=', 'a', 'b', true],
    ['=~', 'a|b', 'b', true],
    ['=~', 'a', 'ab', false], // anchored
    ['!~', 'a.*', 'abc', false],
    ['=~', '.*', '', true],
    ['=~', '(?i)FOO', 'foo', true],
    ['=~', 'a.b', 'a\nb', true], // RE2 with (?s): dot matches newline, as Prometheus
  ] as const)('%s %j on %j = %j', (type, re, v, want) => {
    expect(new Matcher(type, 'x', re).matches(v)).toBe(want);
  });
});
