import fc from 'fast-check';
import { Labels } from './labels.js';
import { compareCodeUnits, mergeSorted, sortUnique } from './sorted-merge.js';

const union = (lists: string[][]) => [...new Set(lists.flat())].sort();

describe('mergeSorted', () => {
  test('sorted lists: equals collecting into a set and sorting (property)', () => {
    const list = fc.uniqueArray(fc.string({ maxLength: 3 }), { maxLength: 30 }).map((l) => l.sort());
    fc.assert(
      fc.property(fc.array(list, { maxLength: 7 }), (lists) => {
        expect(mergeSorted(lists, compareCodeUnits)).toEqual(union(lists));
      }),
    );
  });

  test('lists in another order or with repeats (a remote store) merge right once sortUnique put them in order (property)', () => {
    const list = fc.array(fc.constantFrom('a', 'b', 'é', '\u{1F600}', '\uFFFD', 'zz', ''), { maxLength: 12 });
    fc.assert(
      fc.property(fc.array(list, { maxLength: 5 }), (lists) => {
        expect(
          mergeSorted(
            lists.map((l) => sortUnique(l, compareCodeUnits)),
            compareCodeUnits,
          ),
        ).toEqual(union(lists));
      }),
    );
  });

  test('label sets: one of each, in label order, the first list keeping its copy (property)', () => {
    const labels = fc
      .record({ __name__: fc.constantFrom('up', 'x'), job: fc.constantFrom('a', 'b', 'c'), i: fc.constantFrom('1', '2') })
      .map((o) => Labels.fromObject(o));
    const list = fc.uniqueArray(labels, { selector: String, maxLength: 10 }).map((l) => l.sort(Labels.compare));
    fc.assert(
      fc.property(fc.array(list, { maxLength: 5 }), (lists) => {
        const got = mergeSorted(lists, Labels.compare);
        const want = [...new Map(lists.flat().map((l) => [l.toString(), l])).values()].sort(Labels.compare);
        expect(got.map(String)).toEqual(want.map(String));
        for (const l of got) expect(l).toBe(lists.flat().find((x) => x.equals(l)));
      }),
    );
  });

  test('a single list comes back as a copy', () => {
    const only = ['a', 'b'];
    const got = mergeSorted([only], compareCodeUnits);
    expect(got).toEqual(only);
    expect(got).not.toBe(only);
  });
});
