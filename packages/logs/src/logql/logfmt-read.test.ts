import fc from 'fast-check';
import { decodeLogfmt, ERROR_LABEL, logfmtExtractor, type EntryState } from './extract.js';

/** logfmt-ish lines: keys that sanitize alike, quoted values with escapes, stray quotes and equals signs. */
const token = fc.oneof(
  fc.constantFrom(
    'level=info',
    'level="a b"',
    'a.b=1',
    'a_b=2',
    'msg="x\\"y\\\\z\\n"',
    'k=',
    'k',
    '="x"',
    'a="open',
    'x=y=z',
    '"q"',
    'lvl=\\t',
  ),
  fc
    .tuple(fc.constantFrom('level', 'a', 'a-b', '1x', 'msg'), fc.string({ unit: 'grapheme', maxLength: 6 }))
    .map(([k, v]) => `${k}="${v.replace(/"/g, '\\"')}"`),
  fc.string({ maxLength: 6 }),
);
const line = fc.array(token, { maxLength: 8 }).map((ts) => ts.join(' '));

/** Quoted values as the parser reads them: escapes \n \t \r, any other escaped character as itself. */
function unquoteModel(body: string): string {
  let v = '';
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\' && i + 1 < body.length) {
      const e = body[++i];
      v += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
    } else v += body[i];
  }
  return v;
}

function run(x: (e: EntryState) => void, text: string, stream: string[]): Map<string, string> {
  const labels = new Map(stream.map((n) => [n, 'stream']));
  x({ line: text, ts: 0n, labels, streamLabels: new Set(stream) });
  return labels;
}

describe('logfmt', () => {
  test('a quoted value is its text with escapes undone', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !/(^|[^\\])(\\\\)*"/.test(s) && !s.endsWith('\\')),
        (body) => {
          expect(decodeLogfmt(`k="${body}"`, true)).toEqual({ pairs: [['k', unquoteModel(body)]] });
        },
      ),
    );
  });

  test.each([false, true])('with the labels a query reads, sets those as the full parser does (strict %s)', (strict) => {
    const full = logfmtExtractor([], strict, false);
    fc.assert(
      fc.property(
        line,
        fc.subarray(['level', 'level_extracted', 'a_b', 'msg', '_1x', 'k']),
        fc.subarray(['level', 'a']),
        (text, names, stream) => {
          const read = new Set([...names, ERROR_LABEL]);
          const want = run(full, text, stream);
          const got = run(logfmtExtractor([], strict, false, read), text, stream);
          for (const n of read) expect([n, got.get(n)]).toEqual([n, want.get(n)]);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
