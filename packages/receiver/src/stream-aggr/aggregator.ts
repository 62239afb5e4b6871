/**
 * Streaming aggregation, per tenant, in two stages so a ring of receivers computes each output
 * exactly once:
 *
 * 1. Inputs: a receiver aggregates only the input series it is the first ring owner of (RF
 *    replicas see the same samples and stay out), and only samples newer than the last one it
 *    aggregated for that series (a retried request adds nothing). Samples fall in the interval
 *    (E - interval, E] with E a multiple of the interval, as a PromQL range ending at E selects
 *    them. Per output group and interval it keeps a Partial (partial.ts).
 * 2. Groups: once an interval has ended (plus `flushDelayMs` for late requests) each receiver
 *    sends its partials to the group's owner: the first ring owner of the group's labels. The
 *    owner keeps one partial per sender and interval (a re-sent partial replaces, never adds),
 *    and after another `flushDelayMs` merges them and writes the outputs at timestamp E through
 *    the ordinary write path (the ring places each output series on its own owners).
 *
 * A ring change keeps every input series' state and looks its first owner up again; a series
 * that changed receivers in an interval is aggregated in part by both, which report it as a
 * mover (Partial.movers, TenantAggregator.ringChanged) so that stage 2 counts it once.
 *
 * Without a ring both stages run in the one receiver. State lives in memory only: a restart loses
 * the intervals in progress (at most one interval plus twice the flush delay per rule) and the
 * counters' baselines, so `total` restarts from 0, which PromQL's rate() and increase() read as a
 * counter reset. Changing a tenant's rules resets that tenant's state the same way.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { Labels } from '@strata/model';
import type { StreamAggrRule } from '@strata/api';
import { Partial, quantileOf, seriesKey, type PartialJSON } from './partial.js';
import { groupLabels, outputLabels, OutputNames } from './naming.js';
import { SeriesRate, settleRates } from './rate.js';

/** One output sample, as the write path takes it. */
export interface OutputSample {
  labels: Labels;
  t: number;
  v: number;
}

/** A stage-1 partial on its way to the group's owner. */
export interface PartialRecord {
  /** The rule's canonical text (both receivers must run the same rule). */
  rule: string;
  /** Label pairs of the group. */
  group: string[];
  /** End of the interval (ms). */
  end: number;
  /** The sending receiver: its partial replaces an earlier one for the same interval. */
  from: string;
  partial: PartialJSON;
}

export interface StreamAggregationOptions {
  /** The tenant's rules (from the limits file); undefined or empty = no aggregation. */
  rules: (tenant: string) => readonly StreamAggrRule[] | undefined;
  /** This receiver's name among the ring's endpoints (any string without a ring). */
  self: string;
  /** The first ring owner of a series (self without a ring); in the ring `epoch` (a ringEpoch value) when given. */
  ownerOf: (tenant: string, labels: Labels, epoch?: unknown) => string;
  /** Changes identity whenever the ring changes (owners then move): each input series' ownership is checked again. */
  ringEpoch?: () => unknown;
  /** Delivers partials to another receiver (stage 2 there). */
  sendPartials?: (endpoint: string, tenant: string, records: PartialRecord[]) => Promise<void>;
  /** Writes output samples through the ordinary write path (or set later with setOutputWriter). */
  writeOutputs?: (tenant: string, samples: OutputSample[]) => Promise<void>;
  /** How long after an interval's end its late samples are still taken (stage 2 waits as long again). */
  flushDelayMs: number;
  now?: () => number;
  registry?: Registry;
  logger?: Logger;
}

/** What a write needs to know about an input series: null = matched by no rule. */
export interface InputSeries {
  /** This receiver is its first owner: it aggregates the series' samples. */
  primary: boolean;
  /** A matching rule drops the input: its samples are aggregated but not stored. */
  readonly dropped: boolean;
  /** Its labels: ownership is checked again when the ring changes (and the drop index verifies by them). */
  readonly labels: Labels;
  /**
   * The ring change that made this receiver its first owner (an index into
   * StreamAggregation.ringChanges; 0: none): it counts as moved around then. A small integer, as
   * prevCountedGap: V8 keeps it in the object, where a time would take a heap number of its own.
   */
  movedIn: number;
  /**
   * The first rule group the series feeds, with its per-series state, on the series itself: most
   * series match one rule, and a sample then touches this one object (plus the group's partial)
   * instead of three arrays beside it, each a cache miss among a head's worth of series.
   */
  readonly target: Group1;
  /** Last sample time aggregated into `target` (dedup_interval). */
  fedT: number;
  /** The interval end this series was last counted in for `target` (count_series). */
  countedEnd: number;
  /** Intervals from the one counted before to countedEnd (0: none; a move takes the series out of both while they are not sent). */
  prevCountedGap: number;
  /** Its rate state when `target`'s rule has rate_sum or rate_avg. */
  rate: SeriesRate | undefined;
  /** Further groups the series feeds (rules after the first that match it), each with the same state. */
  readonly more: TargetState[] | undefined;
  lastT: number;
  prevV: number;
  /** Wall clock of the last sample, for staleness. */
  seenAt: number;
  readonly stalenessMs: number;
}

/** One rule group an input series feeds, and the series' state there. */
interface TargetState {
  readonly target: Group1;
  fedT: number;
  countedEnd: number;
  prevCountedGap: number;
  rate: SeriesRate | undefined;
}

/** Stage 1: one output group of one rule, on a receiver owning some of its inputs. */
interface Group1 {
  readonly rule: RuleState;
  readonly key: string;
  readonly labels: Labels;
  readonly windows: Map<number, Partial>;
  seenAt: number;
  /** The window written to last, and its end: most samples go to the same one (saves a lookup by a double key). */
  lastEnd: number;
  lastPartial: Partial | undefined;
}

/**
 * Stage 2: the partials of one interval of a group, one per sender (a resend replaces). Most
 * intervals have a single sender (the group's owner itself without a ring): it needs no map.
 */
interface Window2 {
  readonly group: Group2;
  from: string;
  partial: Partial;
  /** Further senders' partials, by sender. */
  more: Map<string, Partial> | undefined;
}

/** Stage 2: one output group on its owner. */
interface Group2 {
  readonly labels: Labels;
  /** Intervals merged here and not written yet. */
  pending: number;
  /** The running `total`: NaN until the group's first interval. */
  total: number;
  seenAt: number;
  /** Output series labels by output slot (emit()), and of histogram buckets by vmrange: built once. */
  readonly outputs: (Labels | undefined)[];
  readonly buckets: Map<string, Labels>;
}

interface RuleState {
  readonly rule: StreamAggrRule;
  readonly needValues: boolean;
  readonly needBuckets: boolean;
  readonly needRate: boolean;
  readonly names: OutputNames;
  readonly flushDelayMs: number;
  /** StreamAggregation.ringChanges. */
  readonly ringChanges: readonly number[];
  readonly groups1: Map<string, Group1>;
  readonly groups2: Map<string, Group2>;
  /** Stage 2's intervals not written yet: by interval end, then by group key (a flush takes an interval whole). */
  readonly windows2: Map<number, Map<string, Window2>>;
  /** Stage 1 sent every interval ending at or before this. */
  sentUpTo: number;
  /** Stage 2 wrote every interval ending at or before this. */
  writtenUpTo: number;
}

interface Metrics {
  samples: Counter<'outcome'>;
  partials: Counter<'outcome'>;
  outputs: Counter;
  groups: Gauge<'stage'>;
}

function metrics(registry: Registry | undefined, agg: StreamAggregation): Metrics {
  const registers = registry ? [registry] : [];
  return {
    samples: new Counter({
      name: 'strata_stream_aggregation_samples_total',
      help: 'Input samples seen by streaming aggregation on the series owner: aggregated, ignored as resent (at or before the last aggregated), or too late for an interval already sent.',
      labelNames: ['outcome'],
      registers,
    }),
    partials: new Counter({
      name: 'strata_stream_aggregation_partials_total',
      help: 'Per-interval partial aggregates by outcome: sent to a group owner, merged on this one, refused as late or for an unknown rule.',
      labelNames: ['outcome'],
      registers,
    }),
    outputs: new Counter({
      name: 'strata_stream_aggregation_output_samples_total',
      help: 'Output samples written by streaming aggregation.',
      registers,
    }),
    groups: new Gauge({
      name: 'strata_stream_aggregation_groups',
      help: 'Output groups held in memory: stage "inputs" (partials of owned input series), stage "outputs" (groups this receiver writes).',
      labelNames: ['stage'],
      registers,
      collect() {
        const n = agg.groupCounts();
        this.set({ stage: 'inputs' }, n.inputs);
        this.set({ stage: 'outputs' }, n.outputs);
      },
    }),
  };
}

/** A tenant's aggregation state for one version of its rules. */
export class TenantAggregator {
  readonly rules: RuleState[];
  readonly rulesByKey = new Map<string, RuleState>();
  readonly hasDropRules: boolean;
  /** Input series by head reference (null: no rule matches); head references are small dense integers. */
  private byRef: (InputSeries | null | undefined)[] = [];
  /** Dropped input series (never in the head) by label hash. */
  private readonly droppedByHash = new Map<number, InputSeries[]>();
  ringEpoch: unknown;
  /** How long after a change a new series may still count as moved: the longest interval plus both flush delays. */
  private readonly moverWindowMs: number;
  /** The rule list this state was built for (the limits' array: the same until a reload). */
  rulesRef: readonly StreamAggrRule[] | undefined;

  constructor(
    readonly tenant: string,
    readonly rulesText: string,
    rules: readonly StreamAggrRule[],
    private readonly agg: StreamAggregation,
  ) {
    this.rules = rules.map((rule) => ({
      rule,
      needValues: rule.outputs.some((o) => o.kind === 'quantiles'),
      needBuckets: rule.outputs.some((o) => o.kind === 'histogram_bucket'),
      needRate: rule.outputs.some((o) => o.kind === 'rate_sum' || o.kind === 'rate_avg'),
      names: new OutputNames(rule),
      flushDelayMs: agg.opts.flushDelayMs,
      ringChanges: agg.ringChanges,
      groups1: new Map(),
      groups2: new Map(),
      windows2: new Map(),
      sentUpTo: -Infinity,
      writtenUpTo: -Infinity,
    }));
    for (const r of this.rules) this.rulesByKey.set(r.rule.key, r);
    this.hasDropRules = rules.some((r) => r.dropInput);
    this.moverWindowMs = Math.max(...rules.map((r) => r.intervalMs)) + 2 * agg.opts.flushDelayMs;
  }

  /** The input state of a head series; undefined = not classified yet. */
  byHeadRef(ref: number): InputSeries | null | undefined {
    return this.byRef[ref];
  }

  rememberRef(ref: number, input: InputSeries | null): void {
    this.byRef[ref] = input;
  }

  /** A dropped input series sent as wire bytes with this hash, verified by `same`. */
  droppedByWire(hash: number, same: (l: Labels) => boolean): InputSeries | undefined {
    const l = this.droppedByHash.get(hash);
    if (!l) return undefined;
    for (const s of l) if (same(s.labels)) return s;
    return undefined;
  }

  /** A dropped input series with these labels (for requests without wire label bytes). */
  droppedByLabels(labels: Labels): InputSeries | undefined {
    const l = this.droppedByHash.get(pairsHash(labels.pairs));
    if (!l) return undefined;
    for (const s of l) if (samePairs(s.labels.pairs, labels.pairs)) return s;
    return undefined;
  }

  /**
   * Matches a new input series against the rules. A dropped one is remembered under `wireHash`
   * (when its request carried label bytes) and under its labels' own hash.
   */
  classify(labels: Labels, wireHash?: number): InputSeries | null {
    const name = labels.metricName();
    const targets: Group1[] = [];
    let dropped = false;
    let stalenessMs = 0;
    const now = this.agg.now();
    for (const r of this.rules) {
      if (!matches(r.rule, labels, name)) continue;
      const gl = groupLabels(r.rule, labels);
      const key = gl.key();
      let g = r.groups1.get(key);
      if (!g) r.groups1.set(key, (g = { rule: r, key, labels: gl, windows: new Map(), seenAt: now, lastEnd: NaN, lastPartial: undefined }));
      targets.push(g);
      if (r.rule.dropInput) dropped = true;
      if (r.rule.stalenessIntervalMs > stalenessMs) stalenessMs = r.rule.stalenessIntervalMs;
    }
    if (targets.length === 0) return null;
    const { ownerOf, self } = this.agg.opts;
    const primary = ownerOf(this.tenant, labels) === self;
    const changes = this.agg.ringChanges;
    const last = changes.length - 1;
    const input: InputSeries = {
      primary,
      dropped,
      labels,
      // New here shortly after a ring change (or this receiver's start), owned by another
      // receiver before it (or by one unknown): that one may have aggregated it around the change.
      movedIn:
        last > 0 && primary && now - changes[last] <= this.moverWindowMs && this.agg.ownerBefore(this.tenant, labels) !== self ? last : 0,
      target: targets[0],
      fedT: -Infinity,
      countedEnd: -Infinity,
      prevCountedGap: 0,
      rate: targets[0].rule.needRate ? new SeriesRate() : undefined,
      more:
        targets.length > 1
          ? targets.slice(1).map((g) => ({
              target: g,
              fedT: -Infinity,
              countedEnd: -Infinity,
              prevCountedGap: 0,
              rate: g.rule.needRate ? new SeriesRate() : undefined,
            }))
          : undefined,
      lastT: -Infinity,
      prevV: NaN,
      seenAt: now,
      stalenessMs,
    };
    if (dropped) {
      this.index(pairsHash(labels.pairs), input);
      if (wireHash !== undefined) this.index(wireHash, input);
    }
    return input;
  }

  private index(hash: number, input: InputSeries): void {
    const l = this.droppedByHash.get(hash);
    if (l) l.push(input);
    else this.droppedByHash.set(hash, [input]);
  }

  /**
   * One sample of an input series this receiver owns. Samples at or before the last one
   * aggregated for the series are resent ones and add nothing.
   */
  feed(input: InputSeries, t: number, v: number, nowMs: number): void {
    const n = this.agg.sampleCounts;
    if (!(t > input.lastT)) {
      n.resent++;
      return;
    }
    input.seenAt = nowMs;
    // A counter's increase since the previous sample; a drop is a reset (the new value is the
    // increase since it), and the first sample of a series is only the baseline.
    const prev = input.prevV;
    const delta = Number.isNaN(prev) || Number.isNaN(v) ? 0 : v >= prev ? v - prev : v;
    input.lastT = t;
    if (!Number.isNaN(v)) input.prevV = v;
    let late = !feedTarget(input, input, t, v, delta, nowMs);
    const more = input.more;
    if (more) for (let k = 0; k < more.length; k++) if (!feedTarget(input, more[k], t, v, delta, nowMs)) late = true;
    if (late) n.late++;
    else n.aggregated++;
  }

  /** Stage 1: partials of intervals that ended at least flushDelayMs before now, by group owner. */
  collectPartials(nowMs: number, all: boolean): Map<string, PartialRecord[]> {
    const out = new Map<string, PartialRecord[]>();
    const { self, ownerOf, flushDelayMs } = this.agg.opts;
    for (const r of this.rules) {
      const upTo = all ? Infinity : Math.floor((nowMs - flushDelayMs) / r.rule.intervalMs) * r.rule.intervalMs;
      if (upTo <= r.sentUpTo) continue;
      for (const [key, g] of r.groups1) {
        let owner: string | undefined;
        for (const [end, p] of g.windows) {
          if (end > upTo) continue;
          g.windows.delete(end);
          p.closed = true;
          settleRates(p);
          if (end === g.lastEnd) {
            g.lastEnd = NaN;
            g.lastPartial = undefined;
          }
          owner ??= ownerOf(this.tenant, g.labels);
          if (owner === self) {
            // This receiver owns the group too: the partial moves over as it is, unserialised.
            this.agg.partialCounts[this.mergePartial(r, g.labels, key, end, self, p, nowMs)]++;
            continue;
          }
          let l = out.get(owner);
          if (!l) out.set(owner, (l = []));
          l.push({ rule: r.rule.key, group: g.labels.pairs as string[], end, from: self, partial: p.toJSON() });
        }
        if (g.windows.size === 0 && nowMs - g.seenAt > r.rule.stalenessIntervalMs) r.groups1.delete(key);
      }
      if (upTo !== Infinity) r.sentUpTo = upTo;
    }
    return out;
  }

  /** Stage 2: a partial for a group this receiver owns. */
  acceptPartial(rec: PartialRecord, nowMs: number): 'merged' | 'late' | 'unknown-rule' {
    const r = this.rulesByKey.get(rec.rule);
    if (!r) return 'unknown-rule';
    if (rec.end <= r.writtenUpTo) return 'late';
    const labels = Labels.fromSortedPairs(rec.group);
    return this.mergePartial(r, labels, labels.key(), rec.end, rec.from, Partial.fromJSON(rec.partial), nowMs);
  }

  private mergePartial(
    r: RuleState,
    labels: Labels,
    key: string,
    end: number,
    from: string,
    partial: Partial,
    nowMs: number,
  ): 'merged' | 'late' | 'unknown-rule' {
    if (end <= r.writtenUpTo) return 'late';
    let g = r.groups2.get(key);
    if (!g) r.groups2.set(key, (g = { labels, pending: 0, total: NaN, seenAt: nowMs, outputs: [], buckets: new Map() }));
    g.seenAt = nowMs;
    let byGroup = r.windows2.get(end);
    if (!byGroup) r.windows2.set(end, (byGroup = new Map()));
    const w = byGroup.get(key);
    if (!w) {
      byGroup.set(key, { group: g, from, partial, more: undefined });
      g.pending++;
    } else if (w.from === from) w.partial = partial;
    else (w.more ??= new Map()).set(from, partial);
    return 'merged';
  }

  /** Stage 2: the outputs of intervals that ended at least 2 x flushDelayMs before now. */
  collectOutputs(nowMs: number, all: boolean): OutputSample[] {
    const out: OutputSample[] = [];
    const delay = 2 * this.agg.opts.flushDelayMs;
    for (const r of this.rules) {
      if (all && !r.rule.flushOnShutdown) continue;
      const iv = r.rule.intervalMs;
      const upTo = all ? Infinity : Math.floor((nowMs - delay) / iv) * iv;
      if (upTo <= r.writtenUpTo) continue;
      // Interval ends to write, in order (the running totals add up interval by interval).
      const ends: number[] = [];
      for (const e of r.windows2.keys()) if (e <= upTo) ends.push(e);
      ends.sort((a, b) => a - b);
      for (const end of ends) {
        const byGroup = r.windows2.get(end)!;
        r.windows2.delete(end);
        for (const w of byGroup.values()) {
          const g = w.group;
          g.pending--;
          // A single sender's partial is the merge (merging it into an empty one changes no output).
          let merged = w.partial;
          if (w.more) {
            merged = new Partial(false, false);
            merged.merge(w.partial);
            for (const p of w.more.values()) merged.merge(p);
          }
          merged.resolveMovers();
          g.total = (Number.isNaN(g.total) ? 0 : g.total) + merged.increase;
          emit(r, g, merged, end, out);
        }
      }
      for (const [key, g] of r.groups2) if (g.pending === 0 && nowMs - g.seenAt > r.rule.stalenessIntervalMs) r.groups2.delete(key);
      if (upTo !== Infinity) r.writtenUpTo = upTo;
    }
    return out;
  }

  /** Forgets input series idle for longer than their staleness interval (their counters start over). */
  collectGarbage(nowMs: number): void {
    const byRef = this.byRef;
    for (let ref = 0; ref < byRef.length; ref++) {
      const s = byRef[ref];
      if (s && nowMs - s.seenAt > s.stalenessMs) byRef[ref] = undefined;
    }
    for (const [h, l] of this.droppedByHash) {
      const keep = l.filter((s) => nowMs - s.seenAt <= s.stalenessMs);
      if (keep.length === 0) this.droppedByHash.delete(h);
      else if (keep.length !== l.length) this.droppedByHash.set(h, keep);
    }
  }

  /**
   * The ring changed: every input series' first owner is looked up again, its state kept. A
   * series that moved away stops being aggregated here, and leaves the counts and rate sums of
   * the intervals not sent yet for their movers (Partial.movers); a series that moved here
   * counts as moved in the intervals around the change (feedTarget), so that the group's owner
   * counts it once (count_series) with one rate (rate_sum, rate_avg). The other outputs add
   * samples and increases, which each receiver holds its own part of anyway.
   */
  ringChanged(epoch: unknown): void {
    this.ringEpoch = epoch;
    const change = this.agg.ringChanges.length - 1;
    const { ownerOf, self } = this.agg.opts;
    const check = (s: InputSeries) => {
      const primary = ownerOf(this.tenant, s.labels) === self;
      if (primary === s.primary) return;
      s.primary = primary;
      if (primary) s.movedIn = change;
      else this.moveOut(s);
    };
    for (const s of this.byRef) if (s) check(s);
    // A dropped series is indexed under up to two hashes: checked once.
    const dropped = new Set<InputSeries>();
    for (const l of this.droppedByHash.values()) for (const s of l) dropped.add(s);
    for (const s of dropped) check(s);
  }

  /** A series this receiver aggregated went to another receiver. */
  private moveOut(s: InputSeries): void {
    const key = seriesKey(s.labels.pairs);
    moveTargetOut(s, s, key);
    if (s.more) for (const m of s.more) moveTargetOut(s, m, key);
    // Should it come back, its next sample is a baseline: the increase meanwhile was the other receiver's.
    s.prevV = NaN;
  }

  groupCounts(): { inputs: number; outputs: number } {
    let inputs = 0;
    let outputs = 0;
    for (const r of this.rules) {
      inputs += r.groups1.size;
      outputs += r.groups2.size;
    }
    return { inputs, outputs };
  }
}

/**
 * The last interval end (of `rule`'s) in which an input series counts as moved: the intervals
 * up to the one holding the change plus a flush delay (samples arrive up to that late).
 */
function movedUpTo(s: InputSeries, r: RuleState): number {
  if (s.movedIn === 0) return -Infinity;
  const iv = r.rule.intervalMs;
  return Math.ceil((r.ringChanges[s.movedIn] + r.flushDelayMs) / iv) * iv;
}

/** Takes a series that went to another receiver out of one group's intervals not sent yet, into their movers. */
function moveTargetOut(input: InputSeries, s: TargetState, key: number): void {
  const g = s.target;
  // Intervals that counted it as moved already need nothing.
  const moved = movedUpTo(input, g.rule);
  const prev = s.prevCountedGap === 0 ? -Infinity : s.countedEnd - s.prevCountedGap * g.rule.rule.intervalMs;
  for (const end of [s.countedEnd, prev]) {
    const p = end > moved ? g.windows.get(end) : undefined;
    if (!p) continue;
    p.series--;
    p.moverSeries(key);
  }
  if (s.rate) {
    s.rate.moveOut(key);
    // The old state settles in its Partial as the mover's part; a return starts afresh.
    s.rate = new SeriesRate();
  }
}

/** One sample into one group of an input series; false if its interval was already sent (late). */
function feedTarget(input: InputSeries, s: TargetState, t: number, v: number, delta: number, nowMs: number): boolean {
  const g = s.target;
  const r = g.rule;
  const iv = r.rule.intervalMs;
  const end = Math.ceil(t / iv) * iv;
  if (end <= r.sentUpTo) return false;
  let p = end === g.lastEnd ? g.lastPartial! : g.windows.get(end);
  if (!p) g.windows.set(end, (p = new Partial(r.needValues, r.needBuckets)));
  g.lastEnd = end;
  g.lastPartial = p;
  g.seenAt = nowMs;
  p.increase += delta;
  // Around a ring change that brought the series here, it counts as moved (TenantAggregator.ringChanged).
  const moved = input.movedIn !== 0 && end <= movedUpTo(input, r) ? input.labels.pairs : undefined;
  if (s.countedEnd !== end) {
    // Further back than a few intervals, the one before is sent for sure: none to remember.
    const gap = (end - s.countedEnd) / iv;
    s.prevCountedGap = gap > 0 && gap < 1024 ? gap : 0;
    s.countedEnd = end;
    if (moved) p.moverSeries(seriesKey(moved));
    else p.series++;
  }
  if (Number.isNaN(v)) return true; // staleness markers end a series; they are no value
  s.rate?.add(p, t, delta, moved);
  const dd = r.rule.dedupIntervalMs;
  if (dd > 0 && Math.floor((t - 1) / dd) === Math.floor((s.fedT - 1) / dd)) return true;
  s.fedT = t;
  p.add(t, v);
  return true;
}

/** Output series labels are built once per group: slot k is the k-th output (each φ its own). */
function labelsAt(r: RuleState, g: Group2, slot: number, o: number, extra?: [string, string]): Labels {
  let l = g.outputs[slot];
  if (l === undefined) l = g.outputs[slot] = outputLabels(g.labels, r.names.of(g.labels.metricName(), o), extra);
  return l;
}

function emit(r: RuleState, g: Group2, p: Partial, end: number, out: OutputSample[]): void {
  const outputs = r.rule.outputs;
  let slot = 0;
  for (let o = 0; o < outputs.length; o++, slot++) {
    const kind = outputs[o].kind;
    let v: number;
    switch (kind) {
      case 'total':
        v = g.total;
        break;
      case 'increase':
        v = p.increase;
        break;
      case 'count_series':
        v = p.series;
        break;
      case 'rate_sum':
      case 'rate_avg':
        // Only groups with a series that has a rate write one (VictoriaMetrics writes no 0 or NaN).
        if (p.rateSeries === 0) continue;
        v = kind === 'rate_sum' ? p.rateSum : p.rateSum / p.rateSeries;
        break;
      case 'quantiles': {
        const phis = outputs[o].phis!;
        if (p.values && p.values.length > 0) {
          const sorted = Float64Array.from(p.values).sort();
          for (let k = 0; k < phis.length; k++, slot++)
            out.push({
              labels: labelsAt(r, g, slot, o, ['quantile', String(phis[k])]),
              t: end,
              v: quantileOf(phis[k], sorted as unknown as number[]),
            });
        } else slot += phis.length;
        slot--;
        continue;
      }
      case 'histogram_bucket':
        for (const [range, n] of p.buckets ?? []) {
          let l = g.buckets.get(range);
          if (!l) g.buckets.set(range, (l = outputLabels(g.labels, r.names.of(g.labels.metricName(), o), ['vmrange', range])));
          out.push({ labels: l, t: end, v: n });
        }
        continue;
      default:
        // Sample statistics exist only for intervals with samples.
        if (p.count === 0) continue;
        v = sampleStat(kind, p);
    }
    out.push({ labels: labelsAt(r, g, slot, o), t: end, v });
  }
}

function sampleStat(kind: string, p: Partial): number {
  switch (kind) {
    case 'count_samples':
      return p.count;
    case 'sum_samples':
      return p.sum;
    case 'last':
      return p.lastV;
    case 'min':
      return p.min;
    case 'max':
      return p.max;
    case 'avg':
      return p.sum / p.count;
    case 'stdvar':
      return p.m2 / p.count;
    default:
      return Math.sqrt(p.m2 / p.count); // stddev
  }
}

function matches(rule: StreamAggrRule, labels: Labels, name: string): boolean {
  for (const alt of rule.match) {
    let ok = true;
    let namedExactly = false;
    for (const m of alt) {
      if (!m.matches(labels.get(m.name))) {
        ok = false;
        break;
      }
      if (m.name === '__name__' && m.type === '=') namedExactly = true;
    }
    // Names with a colon are recording-rule and aggregation outputs by Prometheus' convention:
    // taken only when named exactly, so outputs never feed a rule by accident (they travel the
    // same write path).
    if (ok && (namedExactly || !name.includes(':'))) return true;
  }
  return false;
}

function pairsHash(pairs: readonly string[]): number {
  let h = 0x811c9dc5;
  for (const s of pairs) {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
  }
  return h >>> 0;
}

function samePairs(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Streaming aggregation for every tenant of a receiver, flushed by a timer or by tick(). */
export class StreamAggregation {
  readonly metrics: Metrics;
  /** Input sample outcomes since the last tick: plain numbers on the hot path, added to the counter per tick. */
  readonly sampleCounts = { aggregated: 0, resent: 0, late: 0 };
  /** Partial outcomes on this receiver, tallied per partial and added to the counter per tick or request. */
  readonly partialCounts = { merged: 0, late: 0, 'unknown-rule': 0 };
  readonly now: () => number;
  /**
   * The ring as last seen, the one before it, and when it changed (wall clock). A start counts
   * as a change from a ring unknown: a receiver joining a ring never saw the one before.
   */
  private ringEpoch: unknown;
  private prevRing: unknown;
  private prevRingKnown = false;
  /** When the ring changed (wall clock), from the second entry on; the first stands for no change. */
  readonly ringChanges: number[] = [-Infinity];
  private readonly tenants = new Map<string, TenantAggregator>();
  private timer: NodeJS.Timeout | undefined;
  private lastGc = 0;
  private ticking: Promise<void> | undefined;

  private writeOutputs: StreamAggregationOptions['writeOutputs'];

  constructor(readonly opts: StreamAggregationOptions) {
    this.now = opts.now ?? Date.now;
    this.writeOutputs = opts.writeOutputs;
    this.metrics = metrics(opts.registry, this);
    if (opts.ringEpoch) {
      this.ringEpoch = opts.ringEpoch();
      this.ringChanges.push(this.now());
    }
  }

  /** The ring now, noting a change. */
  private checkRing(): unknown {
    if (!this.opts.ringEpoch) return undefined;
    const epoch = this.opts.ringEpoch();
    if (epoch !== this.ringEpoch) {
      this.prevRing = this.ringEpoch;
      this.prevRingKnown = true;
      this.ringEpoch = epoch;
      this.ringChanges.push(this.now());
    }
    return epoch;
  }

  /** A series' first owner before the last ring change: undefined when unknown (this receiver started since); self without a ring then. */
  ownerBefore(tenant: string, labels: Labels): string | undefined {
    if (!this.prevRingKnown) return undefined;
    return this.prevRing === undefined ? this.opts.self : this.opts.ownerOf(tenant, labels, this.prevRing);
  }

  /** The tenant's aggregator when it has rules (rebuilt when they change); undefined otherwise. */
  forTenant(tenant: string): TenantAggregator | undefined {
    const rules = this.opts.rules(tenant);
    let a = this.tenants.get(tenant);
    if (!rules || rules.length === 0) {
      if (a) this.tenants.delete(tenant);
      return undefined;
    }
    if (!a || a.rulesRef !== rules) {
      // A reload parses the file anew: the same rules come back as new objects with the same keys.
      const text = rules.length === 1 ? rules[0].key : rules.map((r) => r.key).join('\n');
      if (!a || a.rulesText !== text) {
        if (a) this.opts.logger?.info({ tenant }, 'streaming aggregation rules changed; the tenant starts from fresh state');
        this.tenants.set(tenant, (a = new TenantAggregator(tenant, text, rules, this)));
        a.ringEpoch = this.checkRing();
      }
      a.rulesRef = rules;
    }
    if (this.opts.ringEpoch) {
      const epoch = this.checkRing();
      if (epoch !== a.ringEpoch) a.ringChanged(epoch);
    }
    return a;
  }

  /** Where outputs go: the write path that owns the Writer (write-handler.ts) sets it. */
  setOutputWriter(write: NonNullable<StreamAggregationOptions['writeOutputs']>): void {
    this.writeOutputs = write;
  }

  /** Stage 2 on this receiver: partials another receiver (or this one) sent. */
  acceptPartials(tenant: string, records: readonly PartialRecord[]): void {
    const a = this.forTenant(tenant);
    const now = this.now();
    const n = this.partialCounts;
    for (const rec of records) n[a ? a.acceptPartial(rec, now) : 'unknown-rule']++;
    this.countPartials();
  }

  /** Adds the partial outcomes tallied since the last call to the counter (one inc per outcome, not per partial). */
  private countPartials(): void {
    const n = this.partialCounts;
    for (const outcome of ['merged', 'late', 'unknown-rule'] as const) {
      if (n[outcome] > 0) this.metrics.partials.inc({ outcome }, n[outcome]);
      n[outcome] = 0;
    }
  }

  /** Sends what is due and writes what is complete; `all` (shutdown) flushes everything flush_on_shutdown allows. */
  async tick(all = false): Promise<void> {
    // One tick at a time: a slow peer must not make ticks overlap and send a partial twice.
    while (this.ticking) await this.ticking;
    const run = this.runTick(all);
    this.ticking = run.finally(() => (this.ticking = undefined));
    await this.ticking;
  }

  private async runTick(all: boolean): Promise<void> {
    // A ring change is noted even before this receiver holds any tenant's series.
    this.checkRing();
    const now = this.now();
    const n = this.sampleCounts;
    for (const outcome of ['aggregated', 'resent', 'late'] as const) {
      if (n[outcome] > 0) this.metrics.samples.inc({ outcome }, n[outcome]);
      n[outcome] = 0;
    }
    const sends: Promise<void>[] = [];
    for (const [tenant, a] of this.tenants) {
      // Configured rules may have changed since the last write.
      if (this.forTenant(tenant) !== a) continue;
      for (const [owner, recs] of a.collectPartials(now, all)) {
        if (owner === this.opts.self) {
          for (const rec of recs) this.partialCounts[a.acceptPartial(rec, now)]++;
          continue;
        }
        const send = this.opts.sendPartials;
        if (!send) continue;
        sends.push(
          send(owner, tenant, recs).then(
            () => void this.metrics.partials.inc({ outcome: 'sent' }, recs.length),
            (e: Error) => {
              this.metrics.partials.inc({ outcome: 'send-failed' }, recs.length);
              this.opts.logger?.warn({ tenant, owner, err: e.message }, 'streaming aggregation partials not delivered');
            },
          ),
        );
      }
    }
    this.countPartials();
    await Promise.all(sends);
    for (const [tenant, a] of this.tenants) {
      const out = a.collectOutputs(all ? now : this.now(), all);
      if (out.length === 0 || !this.writeOutputs) continue;
      try {
        await this.writeOutputs(tenant, out);
        this.metrics.outputs.inc(out.length);
      } catch (e) {
        this.opts.logger?.error({ tenant, err: (e as Error).message }, 'streaming aggregation outputs not written');
      }
    }
    if (now - this.lastGc > 10_000) {
      this.lastGc = now;
      for (const a of this.tenants.values()) a.collectGarbage(now);
    }
  }

  /** Ticks every `everyMs` until stop(). */
  start(everyMs = 1000): void {
    this.timer = setInterval(
      () => void this.tick().catch((e) => this.opts.logger?.error({ err: e }, 'streaming aggregation tick failed')),
      everyMs,
    );
    this.timer.unref();
  }

  /** Stops the timer; with flush, writes the intervals in progress of rules with flush_on_shutdown. */
  async stop(flush: boolean): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.tick(false);
    if (flush) await this.tick(true);
  }

  groupCounts(): { inputs: number; outputs: number } {
    let inputs = 0;
    let outputs = 0;
    for (const a of this.tenants.values()) {
      const n = a.groupCounts();
      inputs += n.inputs;
      outputs += n.outputs;
    }
    return { inputs, outputs };
  }
}
