/**
 * A rule group of one tenant: its rules evaluated in order at Prometheus' evaluation timestamps,
 * each rule seeing the results the previous ones wrote in the same evaluation; stale markers for
 * series a rule stopped producing; the alerts' for state restored from ALERTS_FOR_STATE.
 *
 * Durability of the results: with a writer in this process (`visible`, in `strata all`) each
 * rule's results are visible to the next rule at once and the evaluation waits once, at its end,
 * for all of them to be in the WAL, as Prometheus commits per rule and never fsyncs. A crash in
 * between loses at most that evaluation's results, which no client was told were stored; the
 * next evaluation recomputes them at its own timestamp (the missed one stays a gap, as when
 * Prometheus is down). A failed WAL write marks the rules whose results it held unhealthy.
 */
import { Labels, Matcher, prometheusLabelsHash, type Labels as LabelsT } from '@strata/model';
import { STALE_NAN } from '@strata/tsdb';
import type { Logger } from 'pino';
import type { Alert, NotifyFunc } from './alert.js';
import type { LastSample, RuleQueries, RuleSamples, RuleWriter } from './interfaces.js';
import type { RulerMetrics } from './metrics.js';
import type { GroupSpec } from './rule-file.js';
import { AlertingRule, ruleFromSpec, type EvalContext, type Rule } from './rules.js';

export interface GroupOptions {
  tenant: string;
  spec: GroupSpec;
  defaultIntervalMs: number;
  defaultQueryOffsetMs?: number;
  queries: RuleQueries;
  writer: RuleWriter;
  externalLabels?: ReadonlyMap<string, string>;
  externalURL?: string;
  queryTimeoutMs?: number;
  /** For-state restore: how far back ALERTS_FOR_STATE is read, and the least time left to fire. */
  outageToleranceMs?: number;
  forGracePeriodMs?: number;
  resendDelayMs?: number;
  notify?: NotifyFunc;
  metrics?: RulerMetrics;
  logger?: Logger;
  now?: () => number;
}

/** Prometheus' defaults: --rules.alert.for-outage-tolerance, --rules.alert.for-grace-period, --rules.alert.resend-delay. */
export const DEFAULT_OUTAGE_TOLERANCE_MS = 3_600_000;
export const DEFAULT_FOR_GRACE_PERIOD_MS = 600_000;
export const DEFAULT_RESEND_DELAY_MS = 60_000;

const NO_LABELS: ReadonlyMap<string, string> = new Map();

export class Group {
  readonly rules: Rule[];
  readonly intervalMs: number;
  readonly queryOffsetMs: number;
  /** ms since the epoch of the last evaluation, 0 before. */
  lastEvaluation = 0;
  evaluationSeconds = 0;
  private readonly previous: Map<string, LabelsT>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private running: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  /** The queries running now (a rule's, its templates'), aborted with the group. */
  private readonly inFlight = new Set<AbortController>();
  private readonly metricLabels: { tenant: string; rule_group: string };
  private readonly now: () => number;

  constructor(readonly opts: GroupOptions) {
    this.rules = opts.spec.rules.map((r) => ruleFromSpec(r, opts.spec.labels));
    this.intervalMs = opts.spec.intervalMs ?? opts.defaultIntervalMs;
    this.queryOffsetMs = opts.spec.queryOffsetMs ?? opts.defaultQueryOffsetMs ?? 0;
    for (let i = 0; i < this.rules.length; i++) this.previous.push(new Map());
    this.metricLabels = { tenant: opts.tenant, rule_group: `${opts.spec.file};${opts.spec.name}` };
    this.now = opts.now ?? Date.now;
  }

  get name(): string {
    return this.opts.spec.name;
  }
  get file(): string {
    return this.opts.spec.file;
  }
  get tenant(): string {
    return this.opts.tenant;
  }

  /**
   * The latest evaluation slot at or before nowMs. Prometheus offsets each group within its
   * interval by the hash of its name and file, in nanoseconds, so groups spread over the interval
   * and a group is evaluated at the same instants by every Prometheus (and by Strata).
   */
  evalTimestamp(nowMs: number): number {
    const interval = BigInt(this.intervalMs) * 1_000_000n;
    const offset = prometheusLabelsHash(['file', this.file, 'name', this.name]) % interval;
    const now = BigInt(Math.round(nowMs)) * 1_000_000n;
    const adj = now - offset;
    let base = adj - (adj % interval);
    if (adj < 0n && adj % interval !== 0n) base -= interval;
    const ns = base + offset;
    // Prometheus' model.Time is in ms, truncated.
    return Number(ns / 1_000_000n);
  }

  /** Evaluates every rule at tsMs (the slot time); the query time is tsMs less the query offset. */
  async eval(tsMs: number): Promise<void> {
    const started = performance.now();
    const t = tsMs - this.queryOffsetMs;
    const { tenant } = this.opts;
    const m = this.opts.metrics;
    const writer = this.opts.writer;
    const unsynced: Rule[] = [];
    // One context and one count for the whole evaluation, not one per rule.
    const ctx: EvalContext = {
      tenant,
      t,
      limit: this.opts.spec.limit,
      query: (expr, at) => this.query(expr, at),
      externalLabels: this.opts.externalLabels ?? NO_LABELS,
      externalURL: this.opts.externalURL ?? '',
    };
    let evaluated = 0;
    for (let i = 0; i < this.rules.length; i++) {
      // Stopped (a reload or shutdown): the rest of this evaluation is not run.
      if (this.abort.signal.aborted) break;
      const rule = this.rules[i];
      const ruleStarted = performance.now();
      evaluated++;
      let samples: RuleSamples;
      try {
        samples = await rule.eval(ctx);
      } catch (e) {
        rule.health = 'err';
        rule.lastError = (e as Error).message;
        rule.lastEvaluation = tsMs;
        rule.evaluationSeconds = (performance.now() - ruleStarted) / 1000;
        m?.evaluationFailures.inc(this.metricLabels);
        this.opts.logger?.warn({ tenant, group: this.name, rule: rule.name, err: rule.lastError }, 'rule evaluation failed');
        continue;
      }
      if (rule instanceof AlertingRule) this.sendAlerts(rule, tsMs);
      // Series the rule produced last time and not now end with a stale marker.
      const prev = this.previous[i];
      const cur = new Map<string, LabelsT>();
      for (const l of samples.labels) cur.set(l.key(), l);
      const stale: LabelsT[] = [];
      for (const [k, l] of prev) if (!cur.has(k)) stale.push(l);
      const out = stale.length === 0 ? samples : withStale(samples, stale, t);
      try {
        if (out.labels.length > 0) {
          if (writer.visible) {
            await writer.visible.write(tenant, out);
            unsynced.push(rule);
          } else await writer.write(tenant, out);
        }
        this.previous[i] = cur;
        rule.health = 'ok';
        rule.lastError = '';
      } catch (e) {
        this.writeFailed(rule, e as Error);
      }
      rule.lastEvaluation = tsMs;
      rule.evaluationSeconds = (performance.now() - ruleStarted) / 1000;
    }
    // Group commit: the rules' results were visible as each was written; the evaluation ends
    // once all of them are durable (one fsync for the lot, as the WAL batches what is queued).
    if (unsynced.length > 0)
      try {
        await writer.visible!.sync(tenant);
      } catch (e) {
        for (const rule of unsynced) this.writeFailed(rule, e as Error);
      }
    this.lastEvaluation = tsMs;
    this.evaluationSeconds = (performance.now() - started) / 1000;
    if (evaluated > 0) m?.evaluations.inc(this.metricLabels, evaluated);
    m?.iterations.inc(this.metricLabels);
    m?.lastDuration.set(this.metricLabels, this.evaluationSeconds);
    m?.lastEvaluation.set(this.metricLabels, tsMs / 1000);
  }

  private writeFailed(rule: Rule, e: Error): void {
    const { tenant } = this.opts;
    rule.health = 'err';
    rule.lastError = `writing results: ${e.message}`;
    this.opts.metrics?.evaluationFailures.inc(this.metricLabels);
    this.opts.metrics?.writeFailures.inc({ tenant });
    this.opts.logger?.warn({ tenant, group: this.name, rule: rule.name, err: rule.lastError }, 'rule results not written');
  }

  /**
   * One rule query, aborted by stop() or after the query timeout. A controller and a timer per
   * query: AbortSignal.any over AbortSignal.timeout cost about 4% of a round of small rules.
   */
  private async query(expr: string, t: number) {
    const timeout = this.opts.queryTimeoutMs;
    if (!timeout || this.abort.signal.aborted) return this.opts.queries.instant(this.opts.tenant, expr, t, this.abort.signal);
    const ac = new AbortController();
    this.inFlight.add(ac);
    const timer = setTimeout(() => ac.abort(new DOMException(`rule query timed out after ${timeout} ms`, 'TimeoutError')), timeout);
    try {
      return await this.opts.queries.instant(this.opts.tenant, expr, t, ac.signal);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(ac);
    }
  }

  private sendAlerts(rule: AlertingRule, tsMs: number): void {
    if (!this.opts.notify) return;
    const resend = this.opts.resendDelayMs ?? DEFAULT_RESEND_DELAY_MS;
    const toSend: Alert[] = [];
    for (const a of rule.allAlerts()) {
      if (a.state === 'pending') continue;
      if (!(a.resolvedAt > a.lastSentAt || a.lastSentAt + resend < tsMs)) continue;
      a.lastSentAt = tsMs;
      // Valid for two missed evaluations or sends, as Prometheus sets endsAt.
      a.validUntil = tsMs + 4 * Math.max(resend, this.intervalMs);
      toSend.push({ ...a });
    }
    if (toSend.length > 0) this.opts.notify(this.opts.tenant, rule.spec.expr, toSend);
  }

  /**
   * Prometheus' RestoreForState: an alert active before a restart keeps its activeAt, moved later
   * by the time the ruler was down, so it neither waits `for` again nor fires early; it is given
   * at least the grace period before firing.
   */
  async restoreForState(nowMs: number): Promise<void> {
    const tolerance = this.opts.outageToleranceMs ?? DEFAULT_OUTAGE_TOLERANCE_MS;
    const grace = this.opts.forGracePeriodMs ?? DEFAULT_FOR_GRACE_PERIOD_MS;
    for (const rule of this.rules) {
      if (!(rule instanceof AlertingRule)) continue;
      const hold = rule.spec.forMs;
      if (hold < grace) {
        rule.restored = true;
        continue;
      }
      for (const a of rule.activeAlerts()) {
        const matchers = [new Matcher('=', '__name__', 'ALERTS_FOR_STATE')];
        a.labels.forEach((n, v) => matchers.push(new Matcher('=', n, v)));
        let found: LastSample[];
        try {
          found = await this.opts.queries.lastSamples(this.opts.tenant, matchers, nowMs - tolerance, nowMs);
        } catch (e) {
          this.opts.logger?.warn(
            { tenant: this.tenant, group: this.name, rule: rule.name, err: (e as Error).message },
            'for state not restored',
          );
          continue;
        }
        const last = found.find(() => true);
        if (!last || last.stale) continue;
        const downAt = Math.floor(last.t / 1000) * 1000;
        let activeAt = Math.trunc(last.v) * 1000;
        const remaining = hold - (downAt - activeAt);
        if (remaining <= 0) {
          // It was firing when the ruler stopped: the next evaluation sets it firing again.
        } else if (remaining < grace) activeAt = nowMs + grace - hold;
        else activeAt += nowMs - downAt;
        a.activeAt = activeAt;
      }
      rule.restored = true;
    }
  }

  /** Runs the group at its slots until stop(); `restore` restores for state after the second evaluation, as Prometheus. */
  start(restore: boolean): void {
    if (!this.stopped) return;
    this.stopped = false;
    let restoreAfter = restore ? 2 : 0;
    if (!restore) for (const r of this.rules) if (r instanceof AlertingRule) r.restored = true;
    this.opts.metrics?.interval.set(this.metricLabels, this.intervalMs / 1000);
    this.opts.metrics?.rules.set(this.metricLabels, this.rules.length);
    let slot = this.evalTimestamp(this.now()) + this.intervalMs;
    const tick = async () => {
      if (this.stopped) return;
      const now = this.now();
      const missed = Math.floor((now - slot) / this.intervalMs);
      if (missed > 0) {
        // Overran: skip to the latest slot, counting the ones not evaluated.
        this.opts.metrics?.iterationsMissed.inc(this.metricLabels, missed);
        slot += missed * this.intervalMs;
      }
      this.opts.metrics?.delay.observe(Math.max(0, now - slot) / 1000);
      try {
        await this.eval(slot);
        if (restoreAfter > 0 && --restoreAfter === 0) await this.restoreForState(this.now());
      } catch (e) {
        this.opts.logger?.error({ err: e, group: this.name }, 'group evaluation failed');
      }
      slot += this.intervalMs;
      schedule();
    };
    const schedule = () => {
      if (this.stopped) return;
      this.timer = setTimeout(
        () => {
          this.running = tick();
        },
        Math.max(0, slot - this.now()),
      );
    };
    schedule();
  }

  /** Stops scheduling and waits for a running evaluation; queries in flight are aborted. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    for (const ac of this.inFlight) ac.abort(this.abort.signal.reason);
    await this.running;
  }

  /** Takes over the alert state of the same group before a reload, so a reload neither re-waits `for` nor resends. */
  copyStateFrom(old: Group): void {
    for (let i = 0; i < this.rules.length; i++) {
      const r = this.rules[i];
      const o = old.rules.find((x) => x.name === r.name && x.spec.expr === r.spec.expr && x.kind === r.kind);
      if (!o) continue;
      const j = old.rules.indexOf(o);
      this.previous[i] = old.previous[j];
      r.health = o.health;
      r.lastError = o.lastError;
      r.lastEvaluation = o.lastEvaluation;
      r.evaluationSeconds = o.evaluationSeconds;
      if (r instanceof AlertingRule && o instanceof AlertingRule) {
        for (const [k, a] of o.active) r.active.set(k, a);
        r.restored = o.restored;
      }
    }
    this.lastEvaluation = old.lastEvaluation;
    this.evaluationSeconds = old.evaluationSeconds;
  }
}

function withStale(s: RuleSamples, stale: LabelsT[], t: number): RuleSamples {
  const n = s.labels.length + stale.length;
  const timestamps = new Float64Array(n).fill(t);
  const values = new Float64Array(n);
  values.set(s.values);
  values.fill(STALE_NAN, s.labels.length);
  return { labels: [...s.labels, ...stale], timestamps, values };
}

export { Labels };
