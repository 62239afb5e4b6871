/**
 * The `{{...}}` native histogram notation of Prometheus' test scripts: `{{schema:0 sum:5 count:4
 * buckets:[1 2 1] offset:1 n_buckets:[..] n_offset:.. z_bucket:.. z_bucket_w:.. custom_values:[..]
 * counter_reset_hint:gauge}}`, alone, repeated (`{{..}}x3`) or as a series (`{{a}}+{{b}}x3`).
 */
import { COUNTER_RESET_HINT_NAMES, CounterResetHint, FloatHistogram } from '@strata/model';
import { parseNumberLiteral } from '@strata/promql';

/** A histogram of a script, with whether its counter reset hint was written out (only then is it compared). */
export interface HistogramValue {
  histogram: FloatHistogram;
  hintSet: boolean;
}

function num(s: string): number {
  const v = parseNumberLiteral(s);
  if (v === undefined) throw new Error(`bad number ${JSON.stringify(s)} in histogram`);
  return v;
}

/** One `{{...}}` literal, braces included. */
export function parseHistogram(text: string): HistogramValue {
  const body = text.trim().replace(/^\{\{/, '').replace(/\}\}$/, '');
  const init: Record<string, number | number[] | string> = {};
  const re = /([a-z_]+):\s*(\[[^\]]*\]|\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    const [, key, raw] = m;
    if (raw.startsWith('[')) init[key] = raw.slice(1, -1).split(/\s+/).filter(Boolean).map(num);
    else if (key === 'counter_reset_hint') init[key] = raw;
    else init[key] = num(raw);
  }
  if (body.replace(re, '').trim() !== '') throw new Error(`cannot read histogram ${text}`);
  const h = new FloatHistogram();
  const n = (k: string) => (init[k] as number | undefined) ?? 0;
  h.schema = n('schema');
  h.sum = n('sum');
  h.count = n('count');
  h.zeroCount = n('z_bucket');
  h.zeroThreshold = n('z_bucket_w');
  if (init.custom_values) h.customValues = init.custom_values as number[];
  const buckets = (init.buckets as number[] | undefined) ?? [];
  if (buckets.length > 0) {
    h.positiveSpans = [{ offset: n('offset'), length: buckets.length }];
    h.positiveBuckets = buckets;
  }
  const nBuckets = (init.n_buckets as number[] | undefined) ?? [];
  if (nBuckets.length > 0) {
    h.negativeSpans = [{ offset: n('n_offset'), length: nBuckets.length }];
    h.negativeBuckets = nBuckets;
  }
  const hint = init.counter_reset_hint as string | undefined;
  if (hint !== undefined) {
    const i = (COUNTER_RESET_HINT_NAMES as readonly string[]).indexOf(hint);
    if (i < 0) throw new Error(`unknown counter_reset_hint ${hint}`);
    h.counterResetHint = i as CounterResetHint;
  }
  return { histogram: h, hintSet: hint !== undefined };
}

/** Expands one token that holds histograms: `{{a}}`, `{{a}}xN`, `{{a}}+{{b}}xN`, `{{a}}-{{b}}xN`. */
export function expandHistogramToken(tok: string): HistogramValue[] {
  const m = /^(\{\{[^}]*\}\})(?:([+-])(\{\{[^}]*\}\}))?(?:x(\d+))?$/.exec(tok);
  if (!m) throw new Error(`cannot read histogram series ${tok}`);
  const base = parseHistogram(m[1]);
  const times = m[4] === undefined ? 0 : Number(m[4]);
  if (!m[2]) return Array.from({ length: times + 1 }, () => ({ histogram: base.histogram.copy(), hintSet: base.hintSet }));
  const inc = parseHistogram(m[3]);
  const out: HistogramValue[] = [{ histogram: base.histogram, hintSet: inc.hintSet }];
  let cur = base.histogram;
  for (let i = 1; i <= times; i++) {
    if (cur.schema > inc.histogram.schema)
      throw new Error(`error combining histograms: cannot merge from schema ${inc.histogram.schema} to ${cur.schema}`);
    cur = cur.copy();
    if (m[2] === '+') cur.add(inc.histogram);
    else cur.sub(inc.histogram);
    out.push({ histogram: cur, hintSet: inc.hintSet });
  }
  return out;
}

/** Splits a values text into tokens, keeping `{{...}}` (which hold spaces) inside their token. */
export function valueTokens(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') depth++;
    else if (c === '}') depth--;
    if (/\s/.test(c) && depth === 0) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur) out.push(cur);
  return out;
}
