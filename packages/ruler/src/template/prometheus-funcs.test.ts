import { expandAlertTemplate, querySample, templateSyntaxError, type ExpandContext } from './prometheus-funcs.js';

const ctx: ExpandContext = {
  timeMs: 0,
  externalURL: 'http://strata.example:9009/prom',
  query: async (q) => {
    if (q === 'up')
      return [
        querySample(
          new Map([
            ['instance', 'b'],
            ['__name__', 'up'],
          ]),
          1,
        ),
        querySample(new Map([['instance', 'a']]), 0),
      ];
    if (q === 'none') return [];
    throw new Error(`bad query ${q}`);
  },
};
const data = {
  labels: new Map([
    ['instance', 'host.example.com:9100'],
    ['job', 'node'],
  ]),
  externalLabels: new Map([['cluster', 'eu1']]),
  externalURL: ctx.externalURL,
  value: 0.1234567,
};

const expand = (text: string, value = data.value) => expandAlertTemplate('__alert_Test', text, { ...data, value }, ctx);

describe("Prometheus' template functions", () => {
  // Outputs as Prometheus 2.42 expands them (its template package's behaviour).
  test.each([
    ['{{ $labels.job }} on {{ $labels.instance }}', 0, 'node on host.example.com:9100'],
    ['{{ $externalLabels.cluster }} {{ $externalURL }}', 0, 'eu1 http://strata.example:9009/prom'],
    ['{{ $value }}', 0.1234567, '0.1234567'],
    ['{{ $value }}', 1234567, '1.234567e+06'],
    ['{{ humanize $value }}', 1234567, '1.235M'],
    ['{{ humanize $value }}', 0.001, '1m'],
    ['{{ humanize $value }}', 0, '0'],
    ['{{ humanize 1000 }}', 0, '1k'],
    ['{{ humanize "2048" }}', 0, '2.048k'],
    ['{{ humanize1024 $value }}', 1048576, '1Mi'],
    ['{{ humanize1024 $value }}', 1000, '1000'],
    ['{{ humanizeDuration $value }}', 0, '0s'],
    ['{{ humanizeDuration $value }}', 1.5, '1.5s'],
    ['{{ humanizeDuration $value }}', 60, '1m 0s'],
    ['{{ humanizeDuration $value }}', 3725, '1h 2m 5s'],
    ['{{ humanizeDuration $value }}', 90061, '1d 1h 1m 1s'],
    ['{{ humanizeDuration $value }}', 0.00123, '1.23ms'],
    ['{{ humanizeDuration $value }}', -61, '-1m 1s'],
    ['{{ humanizePercentage $value }}', 0.1234567, '12.35%'],
    ['{{ humanizeTimestamp $value }}', 1435065584.128, '2015-06-23 13:19:44.128 +0000 UTC'],
    ['{{ humanizeTimestamp $value }}', 0, '1970-01-01 00:00:00 +0000 UTC'],
    ['{{ printf "%.1f" $value }}', 2.25, '2.2'],
    ['{{ title "hello wide world" }} {{ toUpper "a" }}{{ toLower "B" }}', 0, 'Hello Wide World Ab'],
    ['{{ match "^node" $labels.job }} {{ match "x" "y" }}', 0, 'true false'],
    ['{{ reReplaceAll "(.*):(\\\\d+)" "${1}!$2" $labels.instance }}', 0, 'host.example.com!9100'],
    // RE2, as every user regex: a pattern that backtracks exponentially in JavaScript answers at once.
    ['{{ match "(a+)+$" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!" }}', 0, 'false'],
    [
      '{{ reReplaceAll "(x+x+)+y" "-" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }} {{ reReplaceAll "a" "$$" "banana" }}',
      0,
      'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx b$n$n$',
    ],
    ['{{ stripPort $labels.instance }} {{ stripPort "[::1]:80" }} {{ stripPort "plain" }}', 0, 'host.example.com ::1 plain'],
    ['{{ graphLink "rate(x[5m]) > 1" }}', 0, '/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+1&g0.tab=0'],
    ['{{ tableLink "up" }}', 0, '/graph?g0.expr=up&g0.tab=1'],
    ['{{ pathPrefix }} {{ externalURL }}', 0, '/prom http://strata.example:9009/prom'],
    ['{{ parseDuration "1h30m" }}', 0, '5400'],
    ['{{ with query "up" }}{{ . | first | value }} {{ . | first | label "instance" }}{{ end }}', 0, '1 b'],
    ['{{ range query "up" | sortByLabel "instance" }}{{ .Labels.instance }}={{ .Value }} {{ end }}', 0, 'a=0 b=1 '],
    ['{{ $a := args 1 "x" }}{{ $a.arg0 }} {{ $a.arg1 }} {{ $a.arg2 }}', 0, '1 x <nil>'],
    ['{{ safeHtml "<b>" }}', 0, '<b>'],
    ['no template at all', 0, 'no template at all'],
  ])('%s ($value %p)', async (text, value, want) => {
    expect(await expand(text, value)).toBe(want);
  });

  test('errors become the text, as Prometheus shows them', async () => {
    expect(await expand('{{ query "none" | first | value }}')).toMatch(
      /^<error expanding template: template: __alert_Test:1:\d+: executing "__alert_Test" at <first>: error calling first: first\(\) called on vector with no elements>$/,
    );
    expect(await expand('{{ query "bad" }}')).toMatch(/error calling query: bad query bad>$/);
    expect(await expand('{{ .Nope }}')).toMatch(/^<error expanding template: .*can't evaluate field Nope/);
  });

  test('syntax errors are found without running the template', () => {
    expect(templateSyntaxError('__alert_X', '{{ $labels.job }}')).toBeUndefined();
    expect(templateSyntaxError('__alert_X', '{{ if }}')).toMatch(/^template: __alert_X:1:\d+: missing value for command/);
    expect(templateSyntaxError('__alert_X', '{{ nosuchfunc 1 }}')).toMatch(/function "nosuchfunc" not defined/);
  });
});
