/**
 * Recording and alerting rules, evaluated as Prometheus' rules package does: a recording rule's
 * result renamed and relabelled; an alerting rule's alerts moving pending -> firing after `for`,
 * kept firing for `keep_firing_for`, kept as resolved for the resend period, and written as
 * ALERTS / ALERTS_FOR_STATE series once the rule's for state is restored.
 */
import { Labels, LabelsBuilder, METRIC_NAME } from '@strata/model';
import type { Alert } from './alert.js';
import type { InstantVector, RuleSamples } from './interfaces.js';
import type { RuleSpec } from './rule-file.js';
import { expandAlertTemplate, querySample, type ExpandContext } from './template/prometheus-funcs.js';

export type Health = 'unknown' | 'ok' | 'err';

/** How long a resolved alert is still sent (Prometheus' resolvedRetention). */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

export interface EvalContext {
  tenant: string;
  /** The query time (evaluation time less the query offset), ms. */
  t: number;
  limit: number;
  query: (expr: string, t: number) => Promise<InstantVector>;
  externalLabels: ReadonlyMap<string, string>;
  externalURL: string;
}

export class RuleEvalError extends Error {}

abstract class BaseRule {
  health: Health = 'unknown';
  lastError = '';
  /** ms since the epoch; 0 before the first evaluation. */
  lastEvaluation = 0;
  evaluationSeconds = 0;

  constructor(readonly spec: RuleSpec) {}

  get name(): string {
    return this.spec.name;
  }

  abstract eval(ctx: EvalContext): Promise<RuleSamples>;
}

function samplesAt(t: number, labels: Labels[], values: Float64Array): RuleSamples {
  return { labels, timestamps: new Float64Array(labels.length).fill(t), values };
}

export class RecordingRule extends BaseRule {
  readonly kind = 'recording';

  async eval(ctx: EvalContext): Promise<RuleSamples> {
    const v = await ctx.query(this.spec.expr, ctx.t);
    const out: Labels[] = [];
    const seen = new Set<string>();
    for (const l of v.labels) {
      const b = new LabelsBuilder(l).set(METRIC_NAME, this.spec.name);
      for (const [n, val] of this.spec.labels) b.set(n, val);
      const labels = b.labels();
      const key = labels.key();
      if (seen.has(key)) throw new RuleEvalError('vector contains metrics with the same labelset after applying rule labels');
      seen.add(key);
      out.push(labels);
    }
    if (ctx.limit > 0 && out.length > ctx.limit) throw new RuleEvalError(`exceeded limit of ${ctx.limit} with ${out.length} series`);
    return samplesAt(ctx.t, out, Float64Array.from(v.values));
  }
}

export class AlertingRule extends BaseRule {
  readonly kind = 'alerting';
  /** Active alerts by label-set key. */
  readonly active = new Map<string, Alert>();
  /** Whether the for state was restored: ALERTS series are written only from then on. */
  restored = false;

  async eval(ctx: EvalContext): Promise<RuleSamples> {
    const res = await ctx.query(this.spec.expr, ctx.t);
    const expandCtx: ExpandContext = {
      timeMs: ctx.t,
      externalURL: ctx.externalURL,
      query: async (q) => {
        const r = await ctx.query(q, ctx.t);
        return r.labels.map((l, i) => querySample(l.toMap(), r.values[i]));
      },
    };
    const tmplName = `__alert_${this.spec.name}`;
    const fresh = new Map<string, Alert>();
    for (let i = 0; i < res.labels.length; i++) {
      const sampleLabels = res.labels[i];
      const value = res.values[i];
      const data = { labels: sampleLabels.toMap(), externalLabels: ctx.externalLabels, externalURL: ctx.externalURL, value };
      const b = new LabelsBuilder(sampleLabels).del(METRIC_NAME);
      for (const [n, text] of this.spec.labels) b.set(n, await expandAlertTemplate(tmplName, text, data, expandCtx));
      b.set('alertname', this.spec.name);
      const annotations: [string, string][] = [];
      for (const [n, text] of this.spec.annotations) annotations.push([n, await expandAlertTemplate(tmplName, text, data, expandCtx)]);
      annotations.sort((a, c) => (a[0] < c[0] ? -1 : a[0] > c[0] ? 1 : 0));
      const labels = b.labels();
      const key = labels.key();
      if (fresh.has(key)) throw new RuleEvalError('vector contains metrics with the same labelset after applying alert labels');
      fresh.set(key, {
        state: 'pending',
        labels,
        annotations,
        value,
        activeAt: ctx.t,
        firedAt: 0,
        resolvedAt: 0,
        lastSentAt: 0,
        validUntil: 0,
        keepFiringSince: 0,
      });
    }
    for (const [key, a] of fresh) {
      const known = this.active.get(key);
      if (known && known.state !== 'inactive') {
        known.value = a.value;
        known.annotations = a.annotations;
        continue;
      }
      this.active.set(key, a);
    }
    const out: Labels[] = [];
    const values: number[] = [];
    let activeOrPending = 0;
    for (const [key, a] of this.active) {
      if (!fresh.has(key)) {
        let keepFiring = false;
        if (a.state === 'firing' && this.spec.keepFiringForMs > 0) {
          if (a.keepFiringSince === 0) a.keepFiringSince = ctx.t;
          if (ctx.t - a.keepFiringSince < this.spec.keepFiringForMs) keepFiring = true;
        }
        // A resolved alert is kept (and sent as resolved) for a while; a pending one goes at once.
        if (a.state === 'pending' || (a.resolvedAt !== 0 && ctx.t - a.resolvedAt > RESOLVED_RETENTION_MS)) this.active.delete(key);
        if (a.state !== 'inactive' && !keepFiring) {
          a.state = 'inactive';
          a.resolvedAt = ctx.t;
        }
        if (!keepFiring) continue;
      } else a.keepFiringSince = 0;
      activeOrPending++;
      if (a.state === 'pending' && ctx.t - a.activeAt >= this.spec.forMs) {
        a.state = 'firing';
        a.firedAt = ctx.t;
      }
      if (this.restored) {
        out.push(new LabelsBuilder(a.labels).set(METRIC_NAME, 'ALERTS').set('alertstate', a.state).labels());
        values.push(1);
        out.push(new LabelsBuilder(a.labels).set(METRIC_NAME, 'ALERTS_FOR_STATE').labels());
        values.push(Math.floor(a.activeAt / 1000));
      }
    }
    if (ctx.limit > 0 && activeOrPending > ctx.limit) {
      this.active.clear();
      throw new RuleEvalError(`exceeded limit of ${ctx.limit} with ${activeOrPending} alerts`);
    }
    return samplesAt(ctx.t, out, Float64Array.from(values));
  }

  /** Alerts that are pending or firing (not the resolved ones kept for resending). */
  activeAlerts(): Alert[] {
    return [...this.active.values()].filter((a) => a.state !== 'inactive');
  }

  /** Every alert kept, resolved ones included: what is sent to Alertmanager. */
  allAlerts(): Alert[] {
    return [...this.active.values()];
  }
}

export type Rule = RecordingRule | AlertingRule;

export function ruleFromSpec(spec: RuleSpec, groupLabels: readonly [string, string][]): Rule {
  // Group labels apply to every rule; a rule's own label of the same name wins.
  const labels = [...groupLabels.filter(([n]) => !spec.labels.some(([m]) => m === n)), ...spec.labels];
  const s = { ...spec, labels };
  return spec.kind === 'recording' ? new RecordingRule(s) : new AlertingRule(s);
}
