/**
 * Validation of native histogram samples at ingest, with Prometheus' rules (histogram.Validate):
 * spans must describe exactly the buckets sent, spans after the first must not go backwards,
 * bucket counts must not be negative, the buckets must add up to the count (at most the count
 * when the sum is NaN), custom-bucket histograms (schema -53) need strictly increasing finite
 * bounds covering their spans and no zero bucket or negative side. Schemas 9..52 are reserved
 * for finer resolutions and reduced to 8 as Prometheus' remote-write handler does; others are
 * refused. A zero threshold must be a finite number ≥ 0.
 *
 * Then the tenant's max_native_histogram_buckets (Mimir's limit, same behaviour): a histogram
 * with more buckets (empty ones inside spans included) is reduced to lower schemas until it
 * fits; one still too large at schema -4, or a custom-bucket one (which cannot be reduced), is
 * refused.
 */
import { MAX_EXPONENTIAL_SCHEMA, MIN_EXPONENTIAL_SCHEMA, CUSTOM_BUCKETS_SCHEMA } from '@strata/model';
import { rowToFloatHistogram, wireFromFloatHistogram, type HistogramTable } from '@strata/remote';

/** The highest schema Prometheus accepts on the wire (and reduces to MAX_EXPONENTIAL_SCHEMA). */
const MAX_RESERVED_SCHEMA = 52;

export type HistogramCheck =
  { ok: true; reduced: boolean } | { ok: false; id: 'invalid-native-histogram' | 'max-native-histogram-buckets'; reason: string };

const OK: HistogramCheck = { ok: true, reduced: false };
const REDUCED: HistogramCheck = { ok: true, reduced: true };

/** Checks row i of the table and, when it is too fine, reduces it in place (the row is replaced). */
export function checkHistogram(table: HistogramTable, i: number, maxBuckets: number): HistogramCheck {
  const reason = structureProblem(table, i);
  if (reason !== undefined) return { ok: false, id: 'invalid-native-histogram', reason };
  let reduced = false;
  if (table.schema[i] > MAX_EXPONENTIAL_SCHEMA) {
    reduceTo(table, i, MAX_EXPONENTIAL_SCHEMA);
    reduced = true;
  }
  if (maxBuckets > 0) {
    let n = table.numBuckets(i, false) + table.numBuckets(i, true);
    if (n > maxBuckets) {
      if (table.schema[i] === CUSTOM_BUCKETS_SCHEMA) {
        return {
          ok: false,
          id: 'max-native-histogram-buckets',
          reason: `the histogram has ${n} custom buckets, the limit is ${maxBuckets} (custom buckets cannot be reduced)`,
        };
      }
      const sent = n;
      while (n > maxBuckets) {
        if (table.schema[i] <= MIN_EXPONENTIAL_SCHEMA) {
          return {
            ok: false,
            id: 'max-native-histogram-buckets',
            reason: `the histogram has ${sent} buckets, still ${n} at the lowest resolution (schema ${MIN_EXPONENTIAL_SCHEMA}); the limit is ${maxBuckets}`,
          };
        }
        reduceTo(table, i, table.schema[i] - 1);
        n = table.numBuckets(i, false) + table.numBuckets(i, true);
      }
      reduced = true;
    }
  }
  return reduced ? REDUCED : OK;
}

function reduceTo(table: HistogramTable, i: number, schema: number): void {
  const sum = table.sum.subarray(i, i + 1).slice(); // the bits of the sum, kept exactly
  const fh = rowToFloatHistogram(table, i).reduceResolution(schema);
  table.replace(i, wireFromFloatHistogram(fh, table.t[i], table.float[i] === 1));
  table.sum[i] = sum[0];
}

/** What is wrong with row i's structure, in Prometheus' words where it has them; undefined if nothing. */
export function structureProblem(table: HistogramTable, i: number): string | undefined {
  const schema = table.schema[i];
  const float = table.float[i] === 1;
  const custom = schema === CUSTOM_BUCKETS_SCHEMA;
  if (!custom && (schema < MIN_EXPONENTIAL_SCHEMA || schema > MAX_RESERVED_SCHEMA)) {
    return `histogram has an invalid schema, which must be between ${MIN_EXPONENTIAL_SCHEMA} and ${MAX_EXPONENTIAL_SCHEMA} for exponential buckets, or ${CUSTOM_BUCKETS_SCHEMA} for custom buckets, got schema ${schema}`;
  }
  const zt = table.zeroThreshold[i];
  if (!(zt >= 0) || zt === Infinity) return `histogram has a zero threshold of ${zt}; it must be a finite number ≥ 0`;
  const count = table.count[i];
  if (float && count < 0) return `observation count is ${count}: histogram's observation count is negative`;
  let observed = 0;
  if (custom) {
    const cvAt = table.customValuesAt(i);
    const nCv = table.numCustomValues(i);
    const cv = table.customValues.data;
    for (let k = 0; k < nCv; k++) {
      if (Number.isNaN(cv[cvAt + k])) return 'custom buckets: histogram custom bounds must not be NaN';
      if (k > 0 && cv[cvAt + k] <= cv[cvAt + k - 1]) {
        return `custom buckets: previous bound is ${cv[cvAt + k - 1]} and current is ${cv[cvAt + k]}: histogram custom bounds must be in strictly increasing order`;
      }
    }
    if (nCv > 0 && cv[cvAt + nCv - 1] === Infinity)
      return 'custom buckets: last +Inf bound must not be explicitly defined: histogram custom bounds must be finite';
    const spans = spanProblem(table, i, false, true);
    if (spans !== undefined) return `custom buckets: ${spans}`;
    let reach = 0;
    for (let k = 0; k < table.numSpans(i, false); k++) reach += table.spanOffset(i, false, k) + table.spanLength(i, false, k);
    if (nCv + 1 < reach)
      return `custom buckets: only ${nCv + 1} buckets defined by custom bounds, spans need ${reach}: histogram custom bounds are too few`;
    if (table.zeroCount[i] !== 0) return 'custom buckets: must have zero count of 0';
    if (zt !== 0) return 'custom buckets: must have zero threshold of 0';
    if (table.numSpans(i, true) > 0) return 'custom buckets: must not have negative spans';
    if (table.numBuckets(i, true) > 0) return 'custom buckets: must not have negative buckets';
  } else {
    if (table.numCustomValues(i) > 0) return 'histogram with exponential schema must not have custom bounds';
    for (const neg of [false, true]) {
      const p = spanProblem(table, i, neg, false);
      if (p !== undefined) return `${neg ? 'negative' : 'positive'} side: ${p}`;
    }
    const neg = bucketTotal(table, i, true, float);
    if (typeof neg === 'string') return `negative side: ${neg}`;
    observed += neg;
    if (float && table.zeroCount[i] < 0) {
      return `zero bucket has observation count of ${table.zeroCount[i]}: histogram has a bucket whose observation count is negative`;
    }
  }
  const pos = bucketTotal(table, i, false, float);
  if (typeof pos === 'string') return `positive side: ${pos}`;
  observed += pos;
  if (float) return undefined; // float histograms' counts are not required to add up (as in Prometheus)
  observed += table.zeroCount[i];
  if (Number.isNaN(table.sum[i])) {
    if (observed > count) {
      return `${observed} observations found in buckets, but the Count field is ${count}: histogram's observation count should be at least the number of observations found in the buckets`;
    }
  } else if (observed !== count) {
    return `${observed} observations found in buckets, but the Count field is ${count}: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)`;
  }
  return undefined;
}

/** Spans against buckets; the first span of an exponential side may start anywhere, custom ones not below 0. */
function spanProblem(table: HistogramTable, i: number, neg: boolean, custom: boolean): string | undefined {
  let need = 0;
  for (let k = 0; k < table.numSpans(i, neg); k++) {
    const off = table.spanOffset(i, neg, k);
    if ((k > 0 || custom) && off < 0) return `span number ${k + 1} with offset ${off}: histogram has a span whose offset is negative`;
    need += table.spanLength(i, neg, k);
  }
  const have = table.numBuckets(i, neg);
  if (need !== have)
    return `spans need ${need} buckets, have ${have} buckets: histogram spans specify different number of buckets than provided`;
  return undefined;
}

/** The observations in one side's buckets, or what is wrong with them (a negative count, deltas summed). */
function bucketTotal(table: HistogramTable, i: number, neg: boolean, float: boolean): number | string {
  const at = table.bucketsAt(i, neg);
  const n = table.numBuckets(i, neg);
  const b = table.buckets.data;
  let total = 0;
  let c = 0;
  for (let k = 0; k < n; k++) {
    c = float ? b[at + k] : c + b[at + k];
    if (c < 0) {
      return `bucket number ${k + 1} has observation count of ${c}: histogram has a bucket whose observation count is negative`;
    }
    total += c;
  }
  return total;
}
