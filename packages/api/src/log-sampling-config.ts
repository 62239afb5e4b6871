/**
 * A tenant's log sampling rules (key `log_sampling`), Strata's own (Loki has none):
 *
 *   log_sampling:
 *     keep:                          # entries matching any rule are always kept
 *       - selector: '{level=~"error|warn"}'   # over stream labels and structured metadata
 *       - line_regex: 'level=(error|warn)'    # RE2, anywhere in the line (as LogQL's |~)
 *       - selector: '{app="payments"}'        # both given: both must match
 *         line_regex: 'timeout'
 *     keep_ratio: 0.1                # share of every other entry kept, per stream
 *
 * Parsed and checked where the limits file is read, so a bad rule refuses the whole file.
 */
import { compileSearchRegex, type Matcher, type SearchRegex } from '@strata/model';
import { parseSelector } from './selectors.js';

export interface LogSamplingKeepRule {
  matchers?: Matcher[];
  lineRegex?: SearchRegex;
}

export interface LogSamplingConfig {
  keep: LogSamplingKeepRule[];
  /** 0..1; 1 keeps everything. */
  keepRatio: number;
  /** The rules as written, for the limits API. */
  source: unknown;
}

export function parseLogSamplingConfig(v: unknown, where: string): LogSamplingConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: expected a mapping with keep and keep_ratio`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'keep' && k !== 'keep_ratio') throw new Error(`${where}: unknown field ${JSON.stringify(k)} (keep, keep_ratio)`);
  const ratio = o.keep_ratio === undefined ? 1 : Number(o.keep_ratio);
  if (typeof o.keep_ratio === 'object' || !Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw new Error(`${where}.keep_ratio must be a number from 0 to 1, got ${JSON.stringify(o.keep_ratio)}`);
  }
  const rules = o.keep ?? [];
  if (!Array.isArray(rules)) throw new Error(`${where}.keep must be a list of rules`);
  const keep = rules.map((r: unknown, i): LogSamplingKeepRule => {
    const at = `${where}.keep[${i}]`;
    if (typeof r !== 'object' || r === null || Array.isArray(r))
      throw new Error(`${at}: expected a mapping with selector and/or line_regex`);
    const rule = r as Record<string, unknown>;
    for (const k of Object.keys(rule))
      if (k !== 'selector' && k !== 'line_regex') throw new Error(`${at}: unknown field ${JSON.stringify(k)}`);
    if (rule.selector === undefined && rule.line_regex === undefined) throw new Error(`${at}: needs a selector or a line_regex`);
    const out: LogSamplingKeepRule = {};
    if (rule.selector !== undefined) {
      try {
        out.matchers = parseSelector(String(rule.selector), 'selector');
      } catch (e) {
        throw new Error(`${at}.selector: ${(e as Error).message}`, { cause: e });
      }
    }
    if (rule.line_regex !== undefined) {
      try {
        out.lineRegex = compileSearchRegex(String(rule.line_regex));
      } catch (e) {
        throw new Error(`${at}.line_regex: ${(e as Error).message}`, { cause: e });
      }
    }
    return out;
  });
  return { keep, keepRatio: ratio, source: v };
}
