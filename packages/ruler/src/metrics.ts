/** The ruler's metrics, named after Prometheus' rule manager metrics (prometheus_rule_*). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class RulerMetrics {
  readonly evaluations: Counter<'tenant' | 'rule_group'>;
  readonly evaluationFailures: Counter<'tenant' | 'rule_group'>;
  readonly iterations: Counter<'tenant' | 'rule_group'>;
  readonly iterationsMissed: Counter<'tenant' | 'rule_group'>;
  readonly lastDuration: Gauge<'tenant' | 'rule_group'>;
  readonly lastEvaluation: Gauge<'tenant' | 'rule_group'>;
  readonly interval: Gauge<'tenant' | 'rule_group'>;
  readonly rules: Gauge<'tenant' | 'rule_group'>;
  readonly delay: Histogram<never>;
  readonly writeFailures: Counter<'tenant'>;

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    const labelNames = ['tenant', 'rule_group'] as const;
    this.evaluations = new Counter({ name: 'strata_ruler_evaluations_total', help: 'Rule evaluations.', labelNames, registers });
    this.evaluationFailures = new Counter({
      name: 'strata_ruler_evaluation_failures_total',
      help: 'Rule evaluations that failed (query error, limit, duplicate labels, write failure).',
      labelNames,
      registers,
    });
    this.iterations = new Counter({ name: 'strata_ruler_group_iterations_total', help: 'Group evaluations run.', labelNames, registers });
    this.iterationsMissed = new Counter({
      name: 'strata_ruler_group_iterations_missed_total',
      help: 'Group evaluations skipped because the previous one ran past its slot (never bunched up).',
      labelNames,
      registers,
    });
    this.lastDuration = new Gauge({
      name: 'strata_ruler_group_last_duration_seconds',
      help: "How long the group's last evaluation took (Prometheus' rule_group_last_duration_seconds).",
      labelNames,
      registers,
    });
    this.lastEvaluation = new Gauge({
      name: 'strata_ruler_group_last_evaluation_timestamp_seconds',
      help: 'The evaluation timestamp of the group last evaluated.',
      labelNames,
      registers,
    });
    this.interval = new Gauge({ name: 'strata_ruler_group_interval_seconds', help: 'Interval of the group.', labelNames, registers });
    this.rules = new Gauge({ name: 'strata_ruler_group_rules', help: 'Rules in the group.', labelNames, registers });
    this.delay = new Histogram({
      name: 'strata_ruler_evaluation_delay_seconds',
      help: "How late a group's evaluation started after its slot.",
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers,
    });
    this.writeFailures = new Counter({
      name: 'strata_ruler_write_failures_total',
      help: 'Rule results that could not be written.',
      labelNames: ['tenant'],
      registers,
    });
  }
}
