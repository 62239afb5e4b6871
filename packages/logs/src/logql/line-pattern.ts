/**
 * Loki's pattern syntax (`<name>` and `<_>` captures between literals) and its pattern line filter
 * `|> "<_> error <_>"` (Loki 3.x), as `pkg/logql/log/pattern` defines them.
 */

export type PatternNode = { readonly lit: string } | { readonly capture: string };

const CAPTURE = /^<(_|[a-zA-Z_][a-zA-Z0-9_]*)>/;

/** The pattern as alternating literals and captures; a `<` that does not open a capture is a literal. */
export function patternNodes(p: string): PatternNode[] {
  const nodes: PatternNode[] = [];
  let lit = '';
  let i = 0;
  while (i < p.length) {
    const m = p[i] === '<' ? CAPTURE.exec(p.slice(i, i + 130)) : null;
    if (m) {
      if (lit !== '') nodes.push({ lit });
      lit = '';
      nodes.push({ capture: m[1] });
      i += m[0].length;
    } else lit += p[i++];
  }
  if (lit !== '') nodes.push({ lit });
  return nodes;
}

/** Loki's message for two captures in a row, or undefined. */
export function consecutiveCaptures(nodes: readonly PatternNode[]): string | undefined {
  for (let i = 0; i + 1 < nodes.length; i++) {
    const a = nodes[i];
    const b = nodes[i + 1];
    if ('capture' in a && 'capture' in b) return `found consecutive capture '<${a.capture}><${b.capture}>': invalid expression`;
  }
  return undefined;
}

/**
 * The test of a pattern line filter; throws Loki's messages for a pattern it refuses (named
 * captures, captures in a row). Each literal must follow the previous one with a non-empty capture
 * between them; a pattern ending in a literal must end the line, one ending in `<_>` must leave
 * something for it. Like Loki, a leading literal is searched for, not anchored: only the literals
 * after a capture must not start where the capture does. The empty pattern matches empty lines only.
 */
export function patternLineTest(pattern: string): (line: string) => boolean {
  const nodes = patternNodes(pattern);
  const consecutive = consecutiveCaptures(nodes);
  if (consecutive) throw new Error(consecutive);
  const named = nodes.find((n) => 'capture' in n && n.capture !== '_');
  if (named && 'capture' in named) throw new Error(`named captures are not allowed: found '<${named.capture}>'`);
  if (nodes.length === 0) return (line) => line.length === 0;
  const lits = nodes.map((n) => ('lit' in n ? n.lit : undefined));
  const endsOnCapture = lits[lits.length - 1] === undefined;
  return (line) => {
    if (line.length === 0) return false;
    let off = 0;
    for (let i = 0; i < lits.length; i++) {
      const lit = lits[i];
      if (lit === undefined) continue;
      const j = line.indexOf(lit, off);
      if (j < 0 || (i !== 0 && j === off)) return false;
      off = j + lit.length;
    }
    return endsOnCapture === (off !== line.length);
  };
}

/** The literals every line matching the pattern contains (pushed to stores as required substrings). */
export function patternLiterals(pattern: string): string[] {
  return patternNodes(pattern).flatMap((n) => ('lit' in n ? [n.lit] : []));
}
