/**
 * Series validation with reasons a person can act on: each rejection names the limit, the value
 * seen, the series, and the flag or per-tenant key that changes it.
 */
import { Labels, METRIC_NAME, StrataError, type ErrorId } from '@strata/model';
import { LIMIT_FLAGS, LIMIT_YAML_KEYS, type ReceiverLimit, type TenantLimits } from '@strata/api';

const MAX_SERIES_IN_MESSAGE = 200;

export function describeSeries(pairs: readonly string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < pairs.length && i < 40; i += 2) parts.push(`${pairs[i]}=${JSON.stringify(pairs[i + 1])}`);
  const s = `{${parts.join(', ')}${pairs.length > 80 ? ', ...' : ''}}`;
  return s.length > MAX_SERIES_IN_MESSAGE ? s.slice(0, MAX_SERIES_IN_MESSAGE) + '...}' : s;
}

export function limitHint(limit: ReceiverLimit): string {
  return `To adjust the related per-tenant limit, configure --${LIMIT_FLAGS[limit]} or the ${LIMIT_YAML_KEYS[limit]} override, or contact your service administrator.`;
}

function reject(id: ErrorId, msg: string, pairs: readonly string[], hint?: ReceiverLimit): StrataError {
  return new StrataError(id, `${msg} series: '${describeSeries(pairs)}'${hint ? ` ${limitHint(hint)}` : ''}`);
}

/**
 * Validates a series' label pairs as sent and returns its Labels (sorted, empty values dropped,
 * as Prometheus does), or the reason it can never be accepted.
 * `requireSorted`: remote-write 2.0 requires labels sorted by name.
 */
export function validateSeries(pairs: readonly string[], limits: TenantLimits, requireSorted: boolean): Labels | StrataError {
  const n = pairs.length / 2;
  if (n > limits.maxLabelNamesPerSeries) {
    return reject(
      'max-label-names-per-series',
      `received a series whose number of labels exceeds the limit (actual: ${n}, limit: ${limits.maxLabelNamesPerSeries})`,
      pairs,
      'maxLabelNamesPerSeries',
    );
  }
  let name = '';
  let sorted = true;
  let hasEmpty = false;
  for (let i = 0; i < pairs.length; i += 2) {
    const ln = pairs[i];
    const lv = pairs[i + 1];
    if (ln === '') return reject('invalid-label-name', 'received a series with an empty label name', pairs);
    if (ln.length > limits.maxLabelNameLength) {
      return reject(
        'label-name-too-long',
        `received a series whose label name length exceeds the limit (actual: ${ln.length}, limit: ${limits.maxLabelNameLength}) label: '${ln.slice(0, 64)}'`,
        pairs,
        'maxLabelNameLength',
      );
    }
    if (lv.length > limits.maxLabelValueLength) {
      return reject(
        'label-value-too-long',
        `received a series whose label value length exceeds the limit (actual: ${lv.length}, limit: ${limits.maxLabelValueLength}) label: '${ln}'`,
        pairs,
        'maxLabelValueLength',
      );
    }
    if (i > 0) {
      const prev = pairs[i - 2];
      if (prev === ln) return reject('duplicate-label-names', `received a series with duplicate label name '${ln}'`, pairs);
      if (prev > ln) sorted = false;
    }
    if (lv === '') hasEmpty = true;
    if (ln === METRIC_NAME) name = lv;
  }
  if (name === '') return reject('missing-metric-name', 'received a series without a metric name', pairs);
  if (!sorted) {
    if (requireSorted)
      return reject('labels-not-sorted', 'received a series whose labels are not sorted by name, as remote-write 2.0 requires', pairs);
    // 1.0 senders usually sort, but the spec only says SHOULD: sort here, and catch duplicates the order hid.
    const labels = Labels.fromPairs(pairs as string[]);
    if (labels.size + countEmpty(pairs) !== n)
      return reject('duplicate-label-names', 'received a series with duplicate label names', pairs);
    return labels;
  }
  return hasEmpty ? Labels.fromPairs(pairs as string[]) : Labels.fromSortedPairs(pairs);
}

function countEmpty(pairs: readonly string[]): number {
  let k = 0;
  for (let i = 1; i < pairs.length; i += 2) if (pairs[i] === '') k++;
  return k;
}
