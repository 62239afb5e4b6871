import { parseDurationParam, parsePromDuration, parseResolution, parseTime } from './params.js';

describe('API parameters', () => {
  test.each([
    ['1700000000', 1_700_000_000_000],
    ['1700000000.123', 1_700_000_000_123],
    ['2023-11-14T22:13:20Z', 1_700_000_000_000],
    ['2023-11-14T22:13:20.5+00:00', 1_700_000_000_500],
  ])('time %s', (s, ms) => expect(parseTime(s, 'time')).toBe(ms));

  test('bad time is a bad_data error naming the parameter', () => {
    expect(() => parseTime('yesterday', 'start')).toThrow('invalid parameter "start": cannot parse "yesterday" to a valid timestamp');
  });

  test.each([
    ['15', 15_000],
    ['0.5', 500],
    ['15s', 15_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['100ms', 100],
  ])('duration %s', (s, ms) => expect(parseDurationParam(s, 'step')).toBe(ms));

  test('durations must be in descending unit order, as Prometheus requires', () => {
    expect(parsePromDuration('30m1h')).toBeUndefined();
    expect(() => parseDurationParam('abc', 'step')).toThrow(/invalid parameter "step"/);
  });

  test.each([
    ['auto', 'auto'],
    ['0s', 0],
    ['0', 0],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
  ])("max_source_resolution %s (Thanos' values)", (s, want) => expect(parseResolution(s)).toBe(want));

  test('a max_source_resolution that is no duration is a bad_data error naming the parameter', () => {
    expect(() => parseResolution('coarse')).toThrow(/invalid parameter "max_source_resolution"/);
    expect(() => parseResolution('-5m')).toThrow(/invalid parameter "max_source_resolution"/);
  });
});
