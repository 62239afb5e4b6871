import fc from 'fast-check';
import { Template, TemplateError, AnyMap } from './go-template.js';
import { formatG, sprintf } from './go-format.js';

const labels = new Map([
  ['instance', 'host:9090'],
  ['job', 'node'],
]);
const data = { labels, value: 1234567.0 };
const funcs = {
  upper: (s: unknown) => String(s).toUpperCase(),
  fail: () => {
    throw new Error('boom');
  },
};

async function run(text: string, dot: unknown = data): Promise<string> {
  return new Template('t', text, funcs).execute(dot);
}

describe('Go text/template', () => {
  // Expected outputs are what Go 1.19's text/template prints for the same template and data.
  test.each([
    ['plain text', 'hello', 'hello'],
    ['field of a map', '{{ .labels.instance }}', 'host:9090'],
    ['missing map key is the zero value', '[{{ .labels.nope }}]', '[]'],
    ['missing key of an interface map is nil', '{{ .m.nope }}', '<nil>'],
    ['float %v', '{{ .value }}', '1.234567e+06'],
    ['variables', '{{ $l := .labels }}{{ $l.job }}', 'node'],
    ['$ is the data', '{{ with .labels }}{{ $.labels.job }}{{ end }}', 'node'],
    ['pipeline into a function', '{{ .labels.job | upper }}', 'NODE'],
    ['printf', '{{ printf "%.2f/%d/%s/%q/%5.1f|%-4s|" 3.14159 42 "x" "y" 2.25 "ab" }}', '3.14/42/x/"y"/  2.2|ab  |'],
    ['printf %d of a float', '{{ printf "%d" 1.5 }}', '%!d(float64=1.5)'],
    ['if/else if/else', '{{ if eq .labels.job "x" }}a{{ else if eq .labels.job "node" }}b{{ else }}c{{ end }}', 'b'],
    ['if false branch', '{{ if .labels.nope }}a{{ else }}c{{ end }}', 'c'],
    ['range over a map in key order', '{{ range $k, $v := .labels }}{{ $k }}={{ $v }};{{ end }}', 'instance=host:9090;job=node;'],
    ['range with else', '{{ range .empty }}x{{ else }}none{{ end }}', 'none'],
    ['range over a slice with dot', '{{ range .list }}<{{ . }}>{{ end }}', '<1><b>'],
    ['break and continue', '{{ range $i, $v := .list }}{{ if eq $i 0 }}{{ continue }}{{ end }}{{ $v }}{{ break }}{{ end }}', 'b'],
    ['trim markers', 'a  {{- " b " -}}  c', 'a b c'],
    ['comments', 'a{{/* no */}}b {{- /* trimmed */ -}} c', 'abc'],
    ['and/or return operands', '{{ or "" "x" }}{{ and 1 0 }}{{ and 1 2 }}', 'x02'],
    ['not, len, index', '{{ not true }} {{ len .labels }} {{ index .labels "job" }} {{ index .list 1 }}', 'false 2 node b'],
    ['comparisons', '{{ lt 1 2 }} {{ ge 2.5 2.5 }} {{ ne "a" "b" }} {{ eq 1 2 3 1 }}', 'true true true true'],
    ['parentheses', '{{ (printf "%s-%s" "a" "b") | upper }}', 'A-B'],
    ['assignment in a range', '{{ $n := 0 }}{{ range .list }}{{ $n = . }}{{ end }}{{ $n }}', 'b'],
    ['raw strings and escapes', '{{ `a\\n` }}|{{ "t\\tb" }}', 'a\\n|t\tb'],
    ['urlquery and html', '{{ urlquery "a b&c" }} {{ html "<x>" }}', 'a+b%26c &lt;x&gt;'],
    ['print', '{{ print 1 2 "a" 3 }}', '1 2a3'],
    ['nil prints <nil>', '{{ print nil }}', '<nil>'],
  ])('%s', async (_name, text, want) => {
    expect(await run(text, { ...data, m: new AnyMap(), empty: [], list: [1n, 'b'] })).toBe(want);
  });

  test.each([
    ['unclosed action', '{{ .x', /unclosed action/],
    ['unknown function', '{{ nope 1 }}', /function "nope" not defined/],
    ['missing end', '{{ if 1 }}x', /unexpected EOF/],
    ['unexpected end', '{{ end }}', /unexpected \{\{end\}\}/],
    ['bad number', '{{ 1x2 }}', /./],
  ])('parse error: %s', (_n, text, re) => {
    expect(() => new Template('t', text, funcs)).toThrow(TemplateError);
    expect(() => new Template('t', text, funcs)).toThrow(re);
  });

  test.each([
    ['function error', '{{ fail }}', /executing "t" at <fail>: error calling fail: boom/],
    ['field of a non-map', '{{ .value.x }}', /can't evaluate field x/],
    ['argument to a non-function', '{{ .value 1 }}', /can't give argument to non-function/],
    ['incompatible comparison', '{{ eq 1 1.0 }}', /incompatible types for comparison/],
  ])('execution error: %s', async (_n, text, re) => {
    await expect(run(text)).rejects.toThrow(re);
  });
});

describe("Go's float formatting", () => {
  test.each([
    [0, undefined, '0'],
    [1, undefined, '1'],
    [0.5, undefined, '0.5'],
    [100000, undefined, '100000'],
    [1e6, undefined, '1e+06'],
    [1234567, undefined, '1.234567e+06'],
    [0.0001, undefined, '0.0001'],
    [0.00001, undefined, '1e-05'],
    [-2.5e-7, undefined, '-2.5e-07'],
    [1e21, undefined, '1e+21'],
    [NaN, undefined, 'NaN'],
    [Infinity, undefined, '+Inf'],
    [1234.5678, 4, '1235'],
    [1.5, 4, '1.5'],
    [123456, 4, '1.235e+05'],
    [0.000012345, 4, '1.234e-05'],
    [999.99, 4, '1000'],
    [9999.9, 4, '1e+04'],
    [0.1, 4, '0.1'],
  ])('formatG(%p, %p) = %p', (v, prec, want) => {
    expect(formatG(v, prec)).toBe(want);
  });

  test('shortest %v round-trips every float', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
        const s = formatG(v);
        expect(Number(s)).toBe(v);
      }),
    );
  });

  test('sprintf reports missing and extra arguments as Go does', () => {
    expect(sprintf('%s %s', ['a'])).toBe('a %!s(MISSING)');
    expect(sprintf('%s', ['a', 1n])).toBe('a%!(EXTRA int=1)');
    expect(sprintf('%05.1f%%', [3.14159])).toBe('003.1%');
  });
});

describe('ties round to even on exact values, as Go', () => {
  test.each([
    ['%.1f', 2.25, '2.2'],
    ['%.1f', 2.35, '2.4'],
    ['%.2g', 0.125, '0.12'],
    ['%.4g', 12.125, '12.12'],
    ['%.0f', 0.5, '0'],
    ['%.0f', 1.5, '2'],
    ['%.3e', 1234.5, '1.234e+03'],
    ['%e', 0, '0.000000e+00'],
    ['%.2f', -0.001, '-0.00'],
    ['%f', 1e22, '10000000000000000000000.000000'],
  ])('%s of %p', (f, v, want) => {
    expect(sprintf(f, [v])).toBe(want);
  });
});
