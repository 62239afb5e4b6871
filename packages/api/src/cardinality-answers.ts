/**
 * The answers of /api/v1/status/tsdb and Mimir's cardinality API computed from merged sketches
 * (cardinality-sketches.ts): distinct counts are the sketches' estimates (exact up to 512, about
 * 1.6% standard error beyond), so RF replicas of a series count once.
 *
 * Two figures are not distinct counts and are scaled instead: chunkCount and
 * memoryInBytesByLabelName are summed over the receivers and multiplied by distinct / summed
 * series (a series' replicas hold about the same chunks and exactly the same label bytes).
 */
import type { CardinalitySketches } from './cardinality-sketches.js';

interface Entry {
  name: string;
  value: number;
}

function top(entries: Entry[], limit: number): Entry[] {
  entries.sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return entries.slice(0, limit);
}

function ratio(distinct: number, summed: number): number {
  return summed > 0 ? distinct / summed : 0;
}

export function tsdbStatusFromSketches(s: CardinalitySketches, limit: number) {
  const numSeries = s.total.estimate();
  let numLabelPairs = 0;
  const values: Entry[] = [];
  const bytes: Entry[] = [];
  for (const [name, ns] of s.names) {
    const v = ns.values.estimate();
    numLabelPairs += v;
    values.push({ name, value: v });
    bytes.push({ name, value: Math.round(ns.bytes * ratio(ns.series.estimate(), ns.localSeries)) });
  }
  const empty = numSeries === 0 || s.maxTime === -Infinity;
  return {
    headStats: {
      numSeries,
      numLabelPairs,
      chunkCount: Math.round(s.chunks * ratio(numSeries, s.localSeries)),
      minTime: empty ? 0 : s.minTime,
      maxTime: empty ? 0 : s.maxTime,
    },
    seriesCountByMetricName: top(
      [...s.metrics].map(([name, sk]) => ({ name, value: sk.estimate() })),
      limit,
    ),
    labelValueCountByLabelName: top(values, limit),
    memoryInBytesByLabelName: top(bytes, limit),
    seriesCountByLabelValuePair: top(
      [...s.pairs].map(([key, p]) => ({ name: key, value: p.sketch.estimate() })),
      limit,
    ),
  };
}

/** Mimir's label_names answer. */
export function labelNamesFromSketches(s: CardinalitySketches, limit: number) {
  const items = [...s.names].map(([name, ns]) => ({ label_name: name, label_values_count: ns.values.estimate() }));
  items.sort((a, b) => b.label_values_count - a.label_values_count || (a.label_name < b.label_name ? -1 : 1));
  return {
    label_values_count_total: items.reduce((n, x) => n + x.label_values_count, 0),
    label_names_count: items.length,
    cardinality: items.slice(0, limit),
  };
}

/** Mimir's label_values answer for `names`. */
export function labelValuesFromSketches(s: CardinalitySketches, names: readonly string[], limit: number) {
  const labels = names.map((name) => {
    const values = [...s.pairs.values()]
      .filter((p) => p.name === name)
      .map((p) => ({ label_value: p.value, series_count: p.sketch.estimate() }));
    values.sort((a, b) => b.series_count - a.series_count || (a.label_value < b.label_value ? -1 : 1));
    const ns = s.names.get(name);
    return {
      label_name: name,
      label_values_count: ns ? ns.values.estimate() : 0,
      series_count: ns ? ns.series.estimate() : 0,
      cardinality: values.slice(0, limit),
    };
  });
  labels.sort((a, b) => b.series_count - a.series_count || (a.label_name < b.label_name ? -1 : 1));
  return { series_count_total: s.total.estimate(), labels };
}
