import { Labels, type ErrorId } from '@strata/model';
import { validatePush, truncateUtf8 } from './validate.js';
import { logLimitsOf } from './log-limits.js';
import type { PushStream } from '../push/push-stream.js';

const NOW_MS = 1_800_000_000_000;
const NOW = BigInt(NOW_MS) * 1_000_000n;
const MIN = 60_000_000_000n;
const limits = logLimitsOf({
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
});
const opts = { nowMs: NOW_MS, creationGracePeriodMs: 10 * 60_000, outOfOrderWindowMs: 60 * 60_000 };

function s(labels: Record<string, string>, ts: bigint[], line = 'x'): PushStream {
  const l = Labels.fromObject(labels);
  return { labels: l, labelsText: l.toString(), timestampsNs: BigInt64Array.from(ts), lines: ts.map(() => line), metadata: undefined };
}

const existing = Labels.fromObject({ app: 'old' });
const state = { numStreams: 1, newest: (l: Labels) => (l.equals(existing) ? NOW : undefined) };

describe('validatePush', () => {
  const many: Record<string, string> = {};
  for (let i = 0; i < 16; i++) many[`l${i}`] = 'v';
  test.each<[string, PushStream, ErrorId | undefined, number]>([
    ['a fresh entry', s({ app: 'a' }, [NOW]), undefined, 1],
    ['16 labels', s(many, [NOW]), 'max-label-names-per-stream', 0],
    ['a bad label name', s({ 'a-b': 'x' }, [NOW]), 'invalid-label-name', 0],
    ['a long label value', s({ app: 'v'.repeat(2049) }, [NOW]), 'label-value-too-long', 0],
    ['an entry 11 min ahead', s({ app: 'a' }, [NOW + 11n * MIN, NOW]), 'log-entry-too-far-in-future', 1],
    ['an entry 9 min ahead', s({ app: 'a' }, [NOW + 9n * MIN]), undefined, 1],
    ['an entry 8 days old', s({ app: 'a' }, [NOW - 8n * 24n * 60n * MIN]), 'log-entry-too-old', 0],
    ['an entry 61 min behind its stream', s({ app: 'old' }, [NOW - 61n * MIN, NOW - 59n * MIN]), 'log-entry-out-of-order', 1],
    ['out of order inside one push', s({ app: 'a' }, [NOW, NOW - 61n * MIN, NOW - 30n * MIN]), 'log-entry-out-of-order', 2],
    ['a 257 KiB line', s({ app: 'a' }, [NOW], 'x'.repeat(257 * 1024)), 'log-line-too-long', 0],
  ])('%s', (_, stream, id, kept) => {
    const r = validatePush([stream], limits, state, opts);
    expect(r.firstError?.id).toBe(id);
    if (id) expect(r.firstError!.message).toContain(stream.labelsText.slice(0, 20));
    expect(r.accepted.reduce((n, a) => n + a.lines.length, 0)).toBe(kept);
  });

  test('valid streams land beside a refused one, and the error names the first bad stream', () => {
    const r = validatePush([s({ app: 'a' }, [NOW]), s({ 'x-y': '1' }, [NOW]), s({ app: 'b' }, [NOW + 60n * MIN])], limits, state, opts);
    expect(r.accepted.map((a) => a.labels.get('app'))).toEqual(['a']);
    expect(r.firstError?.message).toContain('x-y');
    expect([...r.discarded]).toEqual([
      ['invalid-label-name', 1],
      ['log-entry-too-far-in-future', 1],
    ]);
    // What a replica answers its router: which streams of the share it refused (some entry of).
    expect(r.refusedStreams).toEqual([1, 2]);
  });

  test('max streams: new streams beyond the limit are refused, existing ones still land', () => {
    const l = { ...limits, maxGlobalStreamsPerUser: 2 };
    const r = validatePush(
      [s({ app: 'old' }, [NOW]), s({ app: 'n1' }, [NOW]), s({ app: 'n1' }, [NOW]), s({ app: 'n2' }, [NOW])],
      l,
      state,
      opts,
    );
    expect(r.accepted.map((a) => a.labels.get('app'))).toEqual(['old', 'n1', 'n1']);
    expect(r.firstError?.id).toBe('max-streams-per-tenant');
    expect(r.refusedStreams).toEqual([3]);
  });

  test('truncation instead of rejection when max_line_size_truncate is on, on a character boundary', () => {
    const r = validatePush(
      [s({ app: 'a' }, [NOW], 'é'.repeat(200))],
      { ...limits, maxLineSize: 101, maxLineSizeTruncate: true },
      state,
      opts,
    );
    expect(r.firstError).toBeUndefined();
    expect(r.accepted[0].lines[0]).toBe('é'.repeat(50));
    expect(truncateUtf8('abc', 10)).toBe('abc');
  });
});
