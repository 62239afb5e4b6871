import { astToJson } from './ast-json.js';
import { parse } from './parser/parser.js';
import { formatExpr } from './printer.js';

describe('printer (format_query)', () => {
  test.each([
    ['up', 'up'],
    ['up{job="a",instance=~"b.*"}', 'up{job="a", instance=~"b.*"}'],
    ['sum by(job)(rate(x[5m]))', 'sum by (job) (rate(x[5m]))'],
    ['sum(x) without(a)', 'sum without (a) (x)'],
    ['topk(3,x)', 'topk(3, x)'],
    ['a / on(b) group_left(c) d', 'a / on (b) group_left (c) d'],
    ['a and ignoring(x) b', 'a and ignoring (x) b'],
    ['x > bool 1', 'x > bool 1'],
    ['x offset 1h30m', 'x offset 1h30m'],
    ['x @ 100', 'x @ 100.000'],
    ['rate(x[5m] @ end() offset -1m)', 'rate(x[5m] @ end() offset -1m)'],
    ['x[1h:]', 'x[1h:]'],
    ['x[1h:5m] offset 10m', 'x[1h:5m] offset 10m'],
    ['-(1 + 2)', '-(1 + 2)'],
    ['{"my.metric", "a.b"="x"}', '{"my.metric", "a.b"="x"}'],
    ['0x10 + 1e3', '16 + 1000'],
    // Constant duration expressions are folded; those of step() and range() print as written.
    ['x[26m+4m] offset (1h*2)', 'x[30m] offset 2h'],
    ['rate(x[step()*4])', 'rate(x[(step() * 4)])'],
    ['x[1h:STEP()] offset -min_of(range(), 1h)', 'x[1h:step()] offset -min_of(range(), 1h)'],
    ['max_over_time(x[max_of(range(),5m):])', 'max_over_time(x[max_of(range(), 5m):])'],
    ['x offset (step()+1ms)', 'x offset (step() + 1ms)'],
    ['a + fill(0) b', 'a + fill(0) b'],
    ['a / on(x) group_left(y) fill_left(1) fill_right(-Inf) b', 'a / on (x) group_left (y) fill_left(1) fill_right(-Inf) b'],
    ['a == bool fill_right(NaN) fill', 'a == bool fill_right(NaN) fill'],
    ['fill_left + fill_left(2) fill_left', 'fill_left + fill_left(2) fill_left'],
    ['sum by (fill) (x) - fill(-1) y', 'sum by (fill) (x) - fill(-1) y'],
    ['rate(x[5m]  anchored)', 'rate(x[5m] anchored)'],
    ['x offset -1m   smoothed + 1', 'x offset -1m smoothed + 1'],
    ['increase(x[1m] @ 100 offset 5m smoothed)', 'increase(x[1m] @ 100.000 offset 5m smoothed)'],
  ])('%s -> %s', (q, want) => {
    expect(formatExpr(parse(q))).toBe(want);
    // The printed form parses back to the same text.
    expect(formatExpr(parse(formatExpr(parse(q))))).toBe(want);
  });

  test('Prometheus spacing quirks are deliberate: group modifiers print with a space before their list', () => {
    expect(formatExpr(parse('a * on() group_right b'))).toBe('a * on () group_right () b');
  });
});

describe('parse_query JSON', () => {
  test('vector selector and binary expression shapes', () => {
    expect(astToJson(parse('rate(x{a="b"}[5m]) > bool 2'))).toEqual({
      type: 'binaryExpr',
      op: '>',
      bool: true,
      matching: null,
      lhs: {
        type: 'call',
        func: { name: 'rate', argTypes: ['matrix'], variadic: 0, returnType: 'vector' },
        args: [
          {
            type: 'matrixSelector',
            name: 'x',
            range: 300000,
            offset: 0,
            matchers: [
              { name: '__name__', value: 'x', type: '=' },
              { name: 'a', value: 'b', type: '=' },
            ],
            timestamp: null,
            startOrEnd: null,
            anchored: false,
            smoothed: false,
          },
        ],
      },
      rhs: { type: 'numberLiteral', val: '2' },
    });
  });

  test.each([
    ['increase(x[1m] anchored)', { anchored: true, smoothed: false }],
    ['rate(x[1m] smoothed)', { anchored: false, smoothed: true }],
  ])('%s carries its range modifier', (q, want) => {
    const call = astToJson(parse(q)) as { args: Record<string, unknown>[] };
    expect(call.args[0]).toMatchObject({ type: 'matrixSelector', ...want });
  });

  test('a smoothed instant selector carries it', () => {
    expect(astToJson(parse('x smoothed'))).toMatchObject({ type: 'vectorSelector', anchored: false, smoothed: true });
  });
});
