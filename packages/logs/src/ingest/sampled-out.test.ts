import fc from 'fast-check';
import { Labels, Matcher } from '@strata/model';
import { parseLogSamplingConfig } from '@strata/api';
import { SampledOutTally } from './sampled-out.js';
import { sampleStreams } from './sample.js';

const MIN = 60_000_000_000n;
const web = Labels.fromObject({ app: 'web', env: 'prod' });
const api = Labels.fromObject({ app: 'api', env: 'dev' });

describe('tally of sampled-out lines', () => {
  // web: 2 lines in minute 10, 1 in minute 11; api: 1 line in minute 10.
  const tally = new SampledOutTally(Infinity);
  tally.add(web, 10n * MIN, 5);
  tally.add(web, 10n * MIN + 59_999_999_999n, 7);
  tally.add(web, 11n * MIN, 3);
  tally.add(api, 10n * MIN + 1n, 100);

  test.each([
    ['every stream, every minute', [], 0n, 100n * MIN, { entries: 4, bytes: 115 }],
    ['one stream by label', [new Matcher('=', 'app', 'web')], 0n, 100n * MIN, { entries: 3, bytes: 15 }],
    ['a regex selector', [new Matcher('=~', 'env', 'd.*')], 0n, 100n * MIN, { entries: 1, bytes: 100 }],
    ['a minute the range only starts in', [new Matcher('=', 'app', 'web')], 10n * MIN + 30n, 11n * MIN, { entries: 2, bytes: 12 }],
    ['the exclusive end leaves the next minute out', [], 0n, 10n * MIN, { entries: 0, bytes: 0 }],
    ['2 ns across a minute boundary count both minutes', [], 11n * MIN - 1n, 11n * MIN + 1n, { entries: 4, bytes: 115 }],
    ['a stream that never sampled', [new Matcher('=', 'app', 'db')], 0n, 100n * MIN, { entries: 0, bytes: 0 }],
  ])('%s', (_name, matchers, start, end, want) => {
    expect(tally.count(matchers, start, end)).toEqual(want);
  });

  test('minutes older than the kept age are forgotten', () => {
    let nowMs = 20 * 60_000;
    const t = new SampledOutTally(5 * 60_000, () => nowMs);
    t.add(web, 10n * MIN, 1);
    t.add(web, 16n * MIN, 1);
    t.prune();
    expect(t.count([], 0n, 100n * MIN)).toEqual({ entries: 1, bytes: 1 });
    nowMs = 30 * 60_000;
    t.prune();
    expect(t.count([], 0n, 100n * MIN)).toEqual({ entries: 0, bytes: 0 });
  });

  test('sampling tallies exactly the lines and bytes it leaves out', () => {
    const cfg = parseLogSamplingConfig({ keep: [{ line_regex: 'level=error' }], keep_ratio: 0.3 }, 'test');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 30 }), fc.bigInt({ min: 0n, max: 1000n * MIN })), { maxLength: 60 }), (rows) => {
        const t = new SampledOutTally(Infinity);
        const stream = {
          labels: web,
          labelsText: web.toString(),
          timestampsNs: BigInt64Array.from(rows, (r) => r[1]),
          lines: rows.map((r) => r[0]),
          metadata: undefined,
        };
        const { kept, sampledOut } = sampleStreams([stream], cfg, t);
        const keptLines = kept.flatMap((s) => s.lines);
        const bytes = (ls: string[]) => ls.reduce((n, l) => n + Buffer.byteLength(l), 0);
        expect(t.count([new Matcher('=', 'app', 'web')], 0n, 1001n * MIN)).toEqual({
          entries: sampledOut,
          bytes: bytes(stream.lines) - bytes(keptLines),
        });
      }),
    );
  });
});
