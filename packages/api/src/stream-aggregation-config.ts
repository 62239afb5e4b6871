/**
 * Streaming aggregation rules as a tenant's limits carry them (key `stream_aggregation_config`),
 * in VictoriaMetrics' stream aggregation format so rules move between the two systems: `match`
 * (a PromQL series selector or a list of them, RE2 regular expressions), `interval`, `by` or
 * `without`, `outputs`, `drop_input`, `staleness_interval`, `flush_on_shutdown`,
 * `dedup_interval`, `keep_metric_names`. Parsed and checked here, where the limits file is read,
 * so a rule with an unknown output refuses the whole file on every component alike; the
 * receiver's engine (stream-aggr/) only runs valid rules.
 */
import type { Matcher } from '@strata/model';
import { parsePromDuration } from './params.js';
import { parseSelector } from './selectors.js';

/** The outputs a rule may ask for; `quantiles(φ...)` carries its φs separately. */
export const STREAM_AGGR_OUTPUTS = [
  'total',
  'increase',
  'rate_sum',
  'rate_avg',
  'count_series',
  'count_samples',
  'sum_samples',
  'last',
  'min',
  'max',
  'avg',
  'stddev',
  'stdvar',
  'quantiles',
  'histogram_bucket',
] as const;
export type StreamAggrOutputKind = (typeof STREAM_AGGR_OUTPUTS)[number];

export interface StreamAggrOutput {
  kind: StreamAggrOutputKind;
  /** For quantiles: the φs, in the order given. */
  phis?: number[];
}

export interface StreamAggrRule {
  /** Alternatives: a series matches the rule when it matches every matcher of one of them. */
  match: Matcher[][];
  intervalMs: number;
  /** The interval as written, for output names (`1m`, `30s`). */
  intervalText: string;
  /** Sorted label names kept (by) or dropped (without); at most one of the two is non-empty. */
  by: string[];
  without: string[];
  outputs: StreamAggrOutput[];
  dropInput: boolean;
  /** An input series or an output group idle this long forgets its state (VictoriaMetrics' default: 2 intervals). */
  stalenessIntervalMs: number;
  flushOnShutdown: boolean;
  /** 0 = no deduplication; else the first sample of each slot of this length per input series counts. */
  dedupIntervalMs: number;
  keepMetricNames: boolean;
  /** The rule's canonical text: rules with the same key are the same rule across reloads. */
  key: string;
}

const RULE_KEYS = new Set([
  'match',
  'interval',
  'by',
  'without',
  'outputs',
  'drop_input',
  'staleness_interval',
  'flush_on_shutdown',
  'dedup_interval',
  'keep_metric_names',
]);

/** Parses a tenant's rule list; throws an Error naming the rule's position and the problem. */
export function parseStreamAggrConfig(value: unknown, where: string): StreamAggrRule[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${where}: expected a list of rules`);
  return value.map((r, i) => parseRule(r, `${where}[${i}]`));
}

function parseRule(raw: unknown, where: string): StreamAggrRule {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where}: expected a mapping`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) throw new Error(`${where}: unknown key ${JSON.stringify(k)}`);
  const selectors = typeof r.match === 'string' ? [r.match] : r.match;
  if (!Array.isArray(selectors) || selectors.length === 0 || selectors.some((s) => typeof s !== 'string'))
    throw new Error(`${where}.match: expected a series selector or a list of them`);
  const match = (selectors as string[]).map((s, k) => {
    try {
      return parseSelector(s, 'match');
    } catch (e) {
      throw new Error(`${where}.match[${k}]: ${(e as Error).message}`, { cause: e });
    }
  });
  const intervalText = String(r.interval ?? '');
  const intervalMs = duration(r.interval, `${where}.interval`);
  if (!(intervalMs >= 1000)) throw new Error(`${where}.interval: must be at least 1s, got ${JSON.stringify(r.interval)}`);
  const by = labelList(r.by, `${where}.by`);
  const without = labelList(r.without, `${where}.without`);
  if (by.length > 0 && without.length > 0) throw new Error(`${where}: set either by or without, not both`);
  if (!Array.isArray(r.outputs) || r.outputs.length === 0) throw new Error(`${where}.outputs: expected a non-empty list`);
  const outputs = r.outputs.map((o, k) => parseOutput(o, `${where}.outputs[${k}]`));
  const seen = new Set<string>();
  for (const o of outputs) {
    if (seen.has(o.kind)) throw new Error(`${where}.outputs: ${o.kind} is listed twice`);
    seen.add(o.kind);
  }
  const keepMetricNames = bool(r.keep_metric_names, `${where}.keep_metric_names`);
  if (keepMetricNames && outputs.length !== 1) throw new Error(`${where}: keep_metric_names needs exactly one output`);
  const stalenessIntervalMs =
    r.staleness_interval === undefined ? 2 * intervalMs : duration(r.staleness_interval, `${where}.staleness_interval`);
  if (stalenessIntervalMs < intervalMs) throw new Error(`${where}.staleness_interval: must not be shorter than the interval`);
  const dedupIntervalMs = r.dedup_interval === undefined ? 0 : duration(r.dedup_interval, `${where}.dedup_interval`);
  if (dedupIntervalMs > 0 && (dedupIntervalMs > intervalMs || intervalMs % dedupIntervalMs !== 0))
    throw new Error(`${where}.dedup_interval: must divide the interval`);
  const rule = {
    match,
    intervalMs,
    intervalText,
    by,
    without,
    outputs,
    dropInput: bool(r.drop_input, `${where}.drop_input`),
    stalenessIntervalMs,
    flushOnShutdown: bool(r.flush_on_shutdown, `${where}.flush_on_shutdown`),
    dedupIntervalMs,
    keepMetricNames,
  };
  const key = JSON.stringify({ ...rule, match: match.map((ms) => ms.map(String)) });
  return { ...rule, key };
}

const QUANTILES_RE = /^quantiles\(\s*([^)]*)\)$/;

function parseOutput(o: unknown, where: string): StreamAggrOutput {
  if (typeof o !== 'string') throw new Error(`${where}: expected an output name`);
  const q = QUANTILES_RE.exec(o.trim());
  if (q) {
    const phis = q[1].split(',').map((p) => Number(p.trim()));
    if (phis.length === 0 || phis.some((p) => !Number.isFinite(p) || p < 0 || p > 1))
      throw new Error(`${where}: quantiles take φs between 0 and 1, got ${JSON.stringify(o)}`);
    return { kind: 'quantiles', phis };
  }
  if (o === 'quantiles' || !(STREAM_AGGR_OUTPUTS as readonly string[]).includes(o))
    throw new Error(`${where}: unknown output ${JSON.stringify(o)} (known: ${STREAM_AGGR_OUTPUTS.join(', ')}(φ...))`);
  return { kind: o as StreamAggrOutputKind };
}

function duration(v: unknown, where: string): number {
  const ms = typeof v === 'number' ? v * 1000 : parsePromDuration(String(v ?? ''));
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) throw new Error(`${where}: invalid duration ${JSON.stringify(v)}`);
  return ms;
}

function bool(v: unknown, where: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new Error(`${where}: expected true or false`);
  return v;
}

function labelList(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) throw new Error(`${where}: expected a list of label names`);
  if ((v as string[]).includes('__name__')) throw new Error(`${where}: __name__ is always part of the output name`);
  return [...new Set(v as string[])].sort();
}
