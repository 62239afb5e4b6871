import fc from 'fast-check';
import { parseLabelsText } from './labels-text.js';
import { ParsedLabelsCache } from './parsed-labels-cache.js';

/** Texts of a few streams, valid and not, so that a run repeats them. */
const text = fc.oneof(
  fc.constantFrom('{app="a"}', '{app="b", env="prod"}', '{env="prod", app="b"}', '{a="b",a="c"}', '{}', '{app=~"x"}', '{x=`q"`}'),
  fc.tuple(fc.stringMatching(/^[a-z_]{1,3}$/), fc.string({ maxLength: 4 })).map(([n, v]) => `{${n}=${JSON.stringify(v)}}`),
  fc.string({ maxLength: 12 }),
);

function outcome(f: () => { key(): string }): { key: string } | { error: unknown } {
  try {
    return { key: f().key() };
  } catch (e) {
    return { error: e };
  }
}

describe('ParsedLabelsCache', () => {
  test('answers as parseLabelsText does, keeps at most two generations, and hands a repeated text the same labels', () => {
    fc.assert(
      fc.property(fc.array(text, { maxLength: 200 }), fc.integer({ min: 1, max: 8 }), (texts, max) => {
        const cache = new ParsedLabelsCache(max);
        for (const t of texts) {
          expect(outcome(() => cache.parse(t))).toEqual(outcome(() => parseLabelsText(t)));
          expect(cache.size).toBeLessThanOrEqual(2 * max);
          const ok = outcome(() => parseLabelsText(t));
          if ('key' in ok) expect(cache.parse(t)).toBe(cache.parse(t));
        }
      }),
      { numRuns: 300 },
    );
  });
});
