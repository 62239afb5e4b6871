import fc from 'fast-check';
import { Placements } from './forward-placements.js';

const SETS: readonly (readonly string[])[] = [
  ['a', 'b', 'c'],
  ['b', 'c', 'd'],
  ['c', 'd', 'a'],
];

describe('Placements', () => {
  test('answers as a map from key to (length, owners) would, through growth and overwrites (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            // Few distinct keys so overwrites and probe collisions are common; keys span the u32 range.
            key: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 })),
            length: fc.integer({ min: 0, max: 5 }),
            set: fc.integer({ min: 0, max: SETS.length - 1 }),
            lookup: fc.boolean(),
          }),
          { maxLength: 3000 },
        ),
        (ops) => {
          const table = new Placements();
          const model = new Map<number, { length: number; owners: readonly string[] }>();
          for (const op of ops) {
            const k = op.key >>> 0;
            if (op.lookup) {
              const m = model.get(k);
              expect(table.get(op.key, op.length)).toBe(m && m.length === op.length ? m.owners : undefined);
            } else {
              table.set(op.key, op.length, SETS[op.set]);
              model.set(k, { length: op.length, owners: SETS[op.set] });
            }
          }
          expect(table.size).toBe(model.size);
          for (const [k, m] of model) expect(table.get(k, m.length)).toBe(m.owners);
        },
      ),
      { numRuns: 50 },
    );
  });

  test.each([
    ['a key seen with another label length', 7, 12, 13, undefined],
    ['the same key and length', 7, 12, 12, SETS[0]],
    ['a negative key (a salted hash) and its unsigned form', -5, 3, 3, SETS[0]],
  ])('%s', (_name, key, storedLength, askedLength, want) => {
    const table = new Placements();
    table.set(key, storedLength, SETS[0]);
    expect(table.get(key >>> 0, askedLength)).toBe(want);
  });

  test('is dropped once it holds its bound, then fills again', () => {
    const table = new Placements(100);
    for (let k = 0; k < 100; k++) table.set(k, 1, SETS[k % 3]);
    expect(table.size).toBe(100);
    table.set(1000, 1, SETS[1]);
    expect(table.size).toBe(1);
    expect(table.get(5, 1)).toBeUndefined();
    expect(table.get(1000, 1)).toBe(SETS[1]);
  });
});
