/**
 * /api/v1/series, /api/v1/labels and /api/v1/label/<name>/values, answered from the index of a
 * Querier (no chunk decoding). Several match[] are a union, as in Prometheus.
 */
import { compareCodeUnits, Labels, mergeSorted, StrataError, type Matcher, type Querier, type SelectHints } from '@strata/model';
import { parseMatchParams } from './selectors.js';
import { MAX_TIME_MS, MIN_TIME_MS, parseTime } from './params.js';
import { success, type ApiResult } from './respond.js';

function hintsFrom(params: URLSearchParams, signal?: AbortSignal): SelectHints & { limit: number } {
  const start = params.has('start') ? parseTime(params.get('start')!, 'start') : MIN_TIME_MS;
  const end = params.has('end') ? parseTime(params.get('end')!, 'end') : MAX_TIME_MS;
  if (end < start) throw new StrataError('bad-query', 'invalid parameter "end": end timestamp must not be before start time');
  let limit = 0;
  if (params.has('limit')) {
    limit = Number(params.get('limit'));
    if (!Number.isInteger(limit) || limit < 0)
      throw new StrataError('bad-query', 'invalid parameter "limit": limit must be a non-negative integer');
  }
  return { start, end, limit, signal };
}

function truncated(): string {
  return 'results truncated due to limit';
}

export async function seriesHandler(params: URLSearchParams, q: Querier, signal?: AbortSignal): Promise<ApiResult> {
  const match = params.getAll('match[]');
  if (match.length === 0) throw new StrataError('bad-query', 'no match[] parameter provided');
  const sets = parseMatchParams(match);
  const hints = hintsFrom(params, signal);
  // Ask one more than the limit so we can tell the client its answer was cut.
  const inner = { ...hints, limit: hints.limit > 0 ? hints.limit + 1 : 0 };
  let result: Labels[];
  if (sets.length === 1) result = await q.series(sets[0], inner);
  else result = mergeSorted(await Promise.all(sets.map((ms) => q.series(ms, inner))), Labels.compare);
  const warnings: string[] = [];
  if (hints.limit > 0 && result.length > hints.limit) {
    result = result.slice(0, hints.limit);
    warnings.push(truncated());
  }
  return success(
    result.map((l) => l.toObject()),
    warnings,
  );
}

export async function labelNamesHandler(params: URLSearchParams, q: Querier, signal?: AbortSignal): Promise<ApiResult> {
  const hints = hintsFrom(params, signal);
  const sets = params.getAll('match[]').length > 0 ? parseMatchParams(params.getAll('match[]')) : [[]];
  const names = await unionSorted(sets, (ms) => q.labelNames(ms, hints));
  return limited(names, hints.limit);
}

export async function labelValuesHandler(name: string, params: URLSearchParams, q: Querier, signal?: AbortSignal): Promise<ApiResult> {
  const labelName = decodeLabelName(name);
  const hints = hintsFrom(params, signal);
  const sets = params.getAll('match[]').length > 0 ? parseMatchParams(params.getAll('match[]')) : [[]];
  const values = await unionSorted(sets, (ms) => q.labelValues(labelName, ms, hints));
  return limited(values, hints.limit);
}

/** Prometheus 3 accepts UTF-8 label names in the path as `U__` + underscore-escaped code points. */
export function decodeLabelName(name: string): string {
  if (!name.startsWith('U__')) return name;
  return name
    .slice(3)
    .replace(/_([0-9a-fA-F]+)_|__/g, (m, hex: string | undefined) => (hex ? String.fromCodePoint(parseInt(hex, 16)) : '_'));
}

async function unionSorted(sets: Matcher[][], get: (ms: Matcher[]) => Promise<string[]>): Promise<string[]> {
  if (sets.length === 1) return get(sets[0]);
  return mergeSorted(await Promise.all(sets.map(get)), compareCodeUnits);
}

function limited(values: string[], limit: number): ApiResult {
  if (limit > 0 && values.length > limit) return success(values.slice(0, limit), [truncated()]);
  return success(values);
}
