/**
 * Output series names and labels, as VictoriaMetrics names them so dashboards and rules move
 * across: `<metric>:<interval>[_by_<labels>][_without_<labels>]_<output>`, label lists sorted and
 * joined by `_`; with keep_metric_names the input's name stays.
 */
import { Labels, LabelsBuilder } from '@strata/model';
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
  const b = new LabelsBuilder(group).set('__name__', name);
  if (extra) b.set(extra[0], extra[1]);
  return b.labels();
}
