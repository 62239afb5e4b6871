/**
 * promtool's input-series notation: `metric{a="b"}` and values in expanding notation
 * (`1+2x3` is 1 3 5 7, `5x2` is 5 5 5, `_` no sample, `_x3` three gaps, `stale`, Inf, NaN).
 */
import { Labels } from '@strata/model';
import { parse, parseNumberLiteral } from '@strata/promql';

export const STALE = 'stale';
export type SeriesValue = number | typeof STALE | undefined;

export function parseSeriesLabels(text: string): Labels {
  const t = text.trim();
  if (t === '{}' || t === '') return Labels.EMPTY;
  const e = parse(t);
  if (e.kind !== 'VectorSelector') throw new Error(`not a series: ${text}`);
  for (const m of e.matchers) if (m.type !== '=') throw new Error(`not a series (matcher ${m.toString()}): ${text}`);
  return Labels.fromPairs(e.matchers.flatMap((m) => [m.name, m.value]));
}

function num(s: string, tok: string): number {
  const v = parseNumberLiteral(s);
  if (v === undefined) throw new Error(`bad number or duration syntax: ${JSON.stringify(tok)}`);
  return v;
}

export function expandSeriesValues(text: string): SeriesValue[] {
  const out: SeriesValue[] = [];
  for (const tok of text.split(/\s+/).filter(Boolean)) {
    if (tok === '_') {
      out.push(undefined);
      continue;
    }
    if (tok === STALE) {
      out.push(STALE);
      continue;
    }
    let m = /^_x(\d+)$/.exec(tok);
    if (m) {
      for (let i = 0; i < Number(m[1]); i++) out.push(undefined);
      continue;
    }
    m = /^([-+]?[^x+-]+?)([+-])([^x]+)x(\d+)$/.exec(tok);
    if (m) {
      const start = num(m[1], tok);
      const inc = num(m[3], tok) * (m[2] === '-' ? -1 : 1);
      // By repeated addition, as Prometheus' loader does (the rounding shows in results).
      let v = start;
      for (let i = 0; i <= Number(m[4]); i++) {
        out.push(v);
        v += inc;
      }
      continue;
    }
    m = /^(.+)x(\d+)$/.exec(tok);
    if (m) {
      const v = num(m[1], tok);
      for (let i = 0; i <= Number(m[2]); i++) out.push(v);
      continue;
    }
    out.push(num(tok, tok));
  }
  return out;
}
