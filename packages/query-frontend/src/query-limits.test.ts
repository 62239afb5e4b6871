import fc from 'fast-check';
import { StrataError } from '@strata/model';
import { applyLookbackToMetadata, limitRange, type TimeLimits } from './query-limits.js';

const H = 3_600_000;
const D = 24 * H;
const NOW = 100 * D;

describe('limitRange', () => {
  // [name, query, back, limits, expected range | null | error id]
  test.each<[string, { start: number; end: number; step: number }, number, TimeLimits, { start: number; end: number } | null | string]>([
    ['no limits', { start: NOW - 7 * D, end: NOW, step: 60_000 }, 5 * 60_000, {}, { start: NOW - 7 * D, end: NOW }],
    ['total length at the limit', { start: NOW - D, end: NOW, step: 60_000 }, 0, { maxTotalQueryLength: D }, { start: NOW - D, end: NOW }],
    [
      'total length over the limit',
      { start: NOW - D - 60_000, end: NOW, step: 60_000 },
      0,
      { maxTotalQueryLength: D },
      'max-total-query-length',
    ],
    [
      'total length does not bound instant queries',
      { start: NOW, end: NOW, step: 0 },
      30 * D,
      { maxTotalQueryLength: D },
      { start: NOW, end: NOW },
    ],
    [
      'length counts the lookback',
      { start: NOW - D + H, end: NOW, step: 60_000 },
      H,
      { maxQueryLength: D },
      { start: NOW - D + H, end: NOW },
    ],
    [
      'length over the limit by its lookback',
      { start: NOW - D + H, end: NOW, step: 60_000 },
      H + 1,
      { maxQueryLength: D },
      'max-query-length',
    ],
    ['an instant query over a long window', { start: NOW, end: NOW, step: 0 }, 31 * D, { maxQueryLength: 30 * D }, 'max-query-length'],
    [
      'no selector: no lookback',
      { start: NOW - D, end: NOW, step: 60_000 },
      -Infinity,
      { maxQueryLength: D },
      { start: NOW - D, end: NOW },
    ],
    [
      'lookback moves the start onto the grid',
      { start: NOW - D - 30_000, end: NOW, step: 60_000 },
      0,
      { maxQueryLookback: H },
      { start: NOW - H + 30_000, end: NOW },
    ],
    ['lookback: a range wholly before it is empty', { start: NOW - D, end: NOW - 2 * H, step: 60_000 }, 0, { maxQueryLookback: H }, null],
    ['lookback: an instant query before it is empty', { start: NOW - 2 * H, end: NOW - 2 * H, step: 0 }, 0, { maxQueryLookback: H }, null],
    [
      'lookback applies before the length limits',
      { start: NOW - 30 * D, end: NOW, step: 60_000 },
      0,
      { maxQueryLookback: D, maxTotalQueryLength: D },
      { start: NOW - D, end: NOW },
    ],
    [
      'zero means unlimited',
      { start: 0, end: NOW, step: D },
      0,
      { maxQueryLength: 0, maxTotalQueryLength: 0, maxQueryLookback: 0 },
      { start: 0, end: NOW },
    ],
  ])('%s', (_name, q, back, limits, expected) => {
    if (typeof expected === 'string') {
      let err: unknown;
      try {
        limitRange(q, back, limits, NOW);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StrataError);
      expect((err as StrataError).id).toBe(expected);
      // The message names the limit's flag and override key.
      expect((err as StrataError).message).toMatch(/--limits\.max-(total-)?query-length or the max_(total_)?query_length override/);
    } else expect(limitRange(q, back, limits, NOW)).toEqual(expected);
  });

  test('a range moved by max_query_lookback keeps exactly the original steps not before the lookback', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 * D }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1, max: 10 * D }),
        (startAgo, steps, stepSec, lookback) => {
          const step = stepSec * 1000;
          const start = NOW - startAgo;
          const end = start + steps * step;
          const r = limitRange({ start, end, step }, 0, { maxQueryLookback: lookback }, NOW);
          const kept = [];
          for (let t = start; t <= end; t += step) if (t >= NOW - lookback) kept.push(t);
          if (kept.length === 0) return r === null;
          return r !== null && r.start === kept[0] && r.end === end && (r.start - start) % step === 0;
        },
      ),
    );
  });
});

describe('applyLookbackToMetadata', () => {
  test.each([
    ['no limit leaves the request alone', { start: '0', end: '100' }, 0, true, { start: '0', end: '100' }],
    [
      'a start before the lookback moves to it',
      { start: '0', end: String(NOW / 1000) },
      H,
      true,
      { start: String((NOW - H) / 1000), end: String(NOW / 1000) },
    ],
    [
      'no start means all time: it becomes the lookback',
      { 'match[]': 'up' },
      H,
      true,
      { 'match[]': 'up', start: String((NOW - H) / 1000) },
    ],
    ['a start inside the lookback stays', { start: String((NOW - 60_000) / 1000) }, H, true, { start: String((NOW - 60_000) / 1000) }],
    ['an end before the lookback: nothing to read', { start: '0', end: String((NOW - 2 * H) / 1000) }, H, false, undefined],
    ["a start that does not parse is the querier's to refuse", { start: 'yesterday' }, H, true, { start: 'yesterday' }],
    ['RFC 3339 times are understood', { start: '1970-01-01T00:00:00Z' }, H, true, { start: String((NOW - H) / 1000) }],
  ])('%s', (_name, params, lookback, keep, after) => {
    const p = new URLSearchParams(params);
    expect(applyLookbackToMetadata(p, lookback, NOW)).toBe(keep);
    if (after) expect(Object.fromEntries(p)).toEqual(after);
  });
});
