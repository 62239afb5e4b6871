import fc from 'fast-check';
import { Labels } from '@strata/model';
import { parseLogSamplingConfig } from '@strata/api';
import { entryHash, sampleStreams } from './sample.js';
import type { PushStream } from '../push/push-stream.js';

function stream(labels: Record<string, string>, lines: string[], start = 0n): PushStream {
  const l = Labels.fromObject(labels);
  return {
    labels: l,
    labelsText: l.toString(),
    timestampsNs: BigInt64Array.from(lines, (_, i) => start + BigInt(i)),
    lines,
    metadata: undefined,
  };
}

const cfg = parseLogSamplingConfig(
  { keep: [{ line_regex: 'level=(error|warn)' }, { selector: '{app="payments"}' }], keep_ratio: 0.1 },
  'test',
);

describe('log sampling', () => {
  test('keeps every matching line and about keep_ratio of the rest, per stream', () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `level=${i % 10 === 0 ? 'error' : 'info'} n=${i}`);
    const { kept, sampledOut } = sampleStreams([stream({ app: 'web' }, lines)], cfg);
    const errors = kept[0].lines.filter((l) => l.startsWith('level=error')).length;
    expect(errors).toBe(2000);
    const rest = kept[0].lines.length - errors;
    // 18,000 others at 10%: 1,800 expected; 4 standard deviations is about ±160.
    expect(Math.abs(rest - 1800)).toBeLessThan(160);
    expect(sampledOut).toBe(20_000 - kept[0].lines.length);
  });

  test('a stream matching a selector rule is kept whole', () => {
    const s = stream({ app: 'payments' }, ['a', 'b', 'c']);
    expect(sampleStreams([s], cfg)).toEqual({ kept: [s], sampledOut: 0 });
  });

  test('deterministic: the same entries are kept on every replica and retry, whatever else is in the push', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 50 }),
        fc.array(fc.string(), { maxLength: 5 }),
        (lines, other) => {
          const a = sampleStreams([stream({ app: 'x' }, lines, 100n)], cfg).kept.flatMap((s) => s.lines);
          const b = sampleStreams([stream({ app: 'y' }, other), stream({ app: 'x' }, lines, 100n)], cfg)
            .kept.filter((s) => s.labels.get('app') === 'x')
            .flatMap((s) => s.lines);
          expect(b).toEqual(a);
        },
      ),
    );
    expect(entryHash('line', 5n)).toBe(entryHash('line', 5n));
    expect(entryHash('line', 5n)).not.toBe(entryHash('line', 6n));
  });

  test.each([
    [{ keep_ratio: 2 }, /keep_ratio/],
    [{ keep: [{}] }, /needs a selector or a line_regex/],
    [{ keep: [{ selector: '{a=' }] }, /keep\[0\]\.selector/],
    [{ keep: [{ line_regex: '(' }] }, /line_regex/],
    [{ keep_rate: 0.1 }, /unknown field/],
  ])('refuses %j', (v, msg) => {
    expect(() => parseLogSamplingConfig(v, 't')).toThrow(msg);
  });
});
