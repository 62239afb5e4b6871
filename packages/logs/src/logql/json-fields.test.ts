import fc from 'fast-check';
import { ERROR_DETAILS_LABEL, ERROR_LABEL, jsonExtractor, jsonWantedExtractor, type EntryState } from './extract.js';

const KEYS = ['level', 'a', 'a_b', 'a.b', 'msg', '1', '01', 'x-y', '__proto__', 'lvl', 'b'];
const key = fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 4 }));
const scalarText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('"a\\nb"', '"\\u00e9\\ud800"', '"\\/"', '1.50', '-0', '1e400', '12345678901234567890', '0.1e-2', 'true', 'false', 'null'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
);
/** JSON-ish texts: objects with repeated and integer-like keys, nesting, arrays, odd whitespace. */
const value: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarText,
    fc.array(fc.tuple(key, tie('v')), { maxLength: 5 }).map((ms) => `{${ms.map(([k, v]) => `${JSON.stringify(k)} : ${v}`).join(', ')}}`),
    fc.array(tie('v'), { maxLength: 3 }).map((vs) => `[ ${vs.join(',')} ]`),
  ),
})).v;
/** Lines: valid JSON, and the same cut short, with a character changed, or with text around it. */
const line = fc.oneof(
  value,
  fc.tuple(value, fc.nat()).map(([v, n]) => v.slice(0, n % (v.length + 1))),
  fc
    .tuple(value, fc.nat(), fc.constantFrom('}', '{', '"', ',', ':', '\\', ' ', '\n', '\u0001', 'x', '0', '.', 'e', '-', ']'))
    .map(([v, n, c]) => {
      const at = n % (v.length + 1);
      return v.slice(0, at) + c + v.slice(at + 1);
    }),
  fc.constantFrom('', ' ', 'level=info msg=x', '{"a":1} x', ' {"a":1}\t', '{"a":01}', '{"a":1.}', '{"a":.5}', '{"a":+1}', '{"a":"\t"}'),
);

function run(x: (e: EntryState) => void, text: string, stream: string[]): Map<string, string> {
  const labels = new Map(stream.map((n) => [n, 'stream']));
  x({ line: text, ts: 0n, labels, streamLabels: new Set(stream) });
  return labels;
}

describe('json with the labels a query reads', () => {
  test('sets each wanted label, and __error__, as the full json parser does', () => {
    const full = jsonExtractor([]);
    fc.assert(
      fc.property(
        line,
        fc.subarray(['level', 'a_b', 'a', 'level_extracted', 'msg', '_1', 'x_y', 'a_b_level', ERROR_DETAILS_LABEL, '__proto__']),
        fc.subarray(['level', 'a']),
        (text, names, stream) => {
          const wanted = new Set([...names, ERROR_LABEL]);
          const want = run(full, text, stream);
          const got = run(jsonWantedExtractor(wanted), text, stream);
          for (const n of wanted) expect([n, got.get(n)]).toEqual([n, want.get(n)]);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
