/**
 * Output series names and labels, as VictoriaMetrics names them so dashboards and rules move
 * across: `<metric>:<interval>[_by_<labels>][_without_<labels>]_<output>`, label lists sorted and
 * joined by `_`; with keep_metric_names the input's name stays.
 */
import type { Labels } from '@strata/model';
import type { StreamAggrOutput, StreamAggrRule } from '@strata/api';

export function outputName(rule: StreamAggrRule, metric: string, output: StreamAggrOutput): string {
  if (rule.keepMetricNames) return metric;
  let name = `${metric}:${rule.intervalText}`;
  if (rule.by.length > 0) name += `_by_${rule.by.join('_')}`;
  if (rule.without.length > 0) name += `_without_${rule.without.join('_')}`;
  return `${name}_${output.kind}`;
}

/** The labels an input series is grouped by: its name plus `by`, or all but `without`. */
export function groupLabels(rule: StreamAggrRule, input: Labels): Labels {
  if (rule.by.length > 0) return input.keep('__name__', ...rule.by);
  if (rule.without.length > 0) return input.without(...rule.without);
  return input.keep('__name__');
}

/** An output series: the group's labels under the output's name (plus quantile or vmrange). */
export function outputLabels(group: Labels, name: string, extra?: [string, string]): Labels {
  const l = group.with('__name__', name);
  return extra ? l.with(extra[0], extra[1]) : l;
}

/**
 * Output names by input metric name, one per output of the rule: the groups of a rule share a
 * few metric names, so their output series share these strings instead of each building its own.
 */
export class OutputNames {
  private readonly byMetric = new Map<string, string[]>();

  constructor(private readonly rule: StreamAggrRule) {}

  of(metric: string, output: number): string {
    let names = this.byMetric.get(metric);
    if (!names) this.byMetric.set(metric, (names = this.rule.outputs.map((o) => outputName(this.rule, metric, o))));
    return names[output];
  }
}
