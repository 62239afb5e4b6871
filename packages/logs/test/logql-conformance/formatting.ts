/** line_format, label_format, drop, keep and decolorize. */
import { B, D, H1, H2, type Case } from './case.js';

const h2 = (lines: string[]): (number | [number, string])[] => [11, 21, 31, 41, 51].map((t, i) => [t, lines[i]] as [number, string]);

export const FORMAT_CASES: Case[] = [
  // ---- decolorize ----
  { q: '{host="h1"} |= "colored" | decolorize', streams: [[H1, [[42, 'ERROR colored failure']]]] },
  { q: '{host="h1"} | decolorize |= "ERROR colored"', streams: [[H1, [[42, 'ERROR colored failure']]]] },
  { q: '{host="h1"} |= "ERROR colored"', streams: [] },
  // ---- line_format ----
  {
    q: '{app="api", env="dev"} | logfmt | line_format "{{.level}}:{{.msg}}" | keep level',
    streams: [
      [
        { level: 'info' },
        [
          [15, 'info:cache hit'],
          [35, 'info:cache miss'],
        ],
      ],
      [{ level: 'error' }, [[25, 'error:db down']]],
      [{ level: 'debug' }, [[45, 'debug:noop']]],
    ],
  },
  {
    q: '{host="h2"} | logfmt | line_format "{{ .level | ToUpper }} {{ .requests }}" | keep host',
    streams: [[{ host: 'h2' }, h2(['INFO 10', 'INFO 20', 'INFO 35', 'WARN 5', 'INFO 15'])]],
  },
  {
    q: '{host="h2"} | line_format `{{ __line__ | replace "requests=" "r:" }}`',
    streams: [[H2, h2(['r:10 level=info', 'r:20 level=info', 'r:35 level=info', 'r:5 level=warn', 'r:15 level=info'])]],
  },
  { q: '{host="h2"} | line_format "[{{.nope}}]"', streams: [[H2, h2(['[]', '[]', '[]', '[]', '[]'])]] },
  {
    q: '{host="h2"} | logfmt | line_format `{{ printf "%s-%s" .level .requests }}` | keep host',
    streams: [[{ host: 'h2' }, h2(['info-10', 'info-20', 'info-35', 'warn-5', 'info-15'])]],
  },
  {
    q: '{host="h2"} | logfmt | line_format `{{ if eq .level "warn" }}W{{ else }}-{{ end }}{{ .requests }}` | keep host',
    streams: [[{ host: 'h2' }, h2(['-10', '-20', '-35', 'W5', '-15'])]],
  },
  {
    q: '{host="h2"} | logfmt | line_format "{{ .requests | trunc 1 }}" | keep host',
    streams: [[{ host: 'h2' }, h2(['1', '2', '3', '5', '1'])]],
  },
  {
    q: '{host="h2"} | logfmt | line_format `{{ regexReplaceAll "[0-9]" .requests "#" }}` | keep host',
    streams: [[{ host: 'h2' }, h2(['##', '##', '##', '#', '##'])]],
  },
  {
    q: '{host="h2"} | line_format "{{ __timestamp__ | unixEpoch }}"',
    streams: [[H2, h2(['1700000011', '1700000021', '1700000031', '1700000041', '1700000051'])]],
  },
  { q: '{host="h2"} | logfmt | line_format "{{.level}}" |= "warn"', streams: [[{ ...H2, level: 'warn', requests: '5' }, [[41, 'warn']]]] },
  {
    q: '{host="h2"} | logfmt | line_format "{{ add .requests 1 }}" | keep host',
    streams: [[{ host: 'h2' }, h2(['11', '21', '36', '6', '16'])]],
  },
  { q: '{host="h2"} | line_format `{{ .nope | default "none" }}`', streams: [[H2, h2(['none', 'none', 'none', 'none', 'none'])]] },
  {
    q: '{host="h2"} | logfmt | line_format `{{ if contains "3" .requests }}yes{{ else }}no{{ end }}` | keep host',
    streams: [[{ host: 'h2' }, h2(['no', 'no', 'yes', 'no', 'no'])]],
  },
  {
    q: '{host="h2"} | logfmt | line_format "{{ .level | title }}" | keep host',
    streams: [[{ host: 'h2' }, h2(['Info', 'Info', 'Info', 'Warn', 'Info'])]],
  },
  {
    q: '{host="h2"} | logfmt | line_format `{{ .requests | printf "%3s" }}|` | keep host',
    streams: [[{ host: 'h2' }, h2([' 10|', ' 20|', ' 35|', '  5|', ' 15|'])]],
  },
  { q: '{host="h2"} | line_format "{{ TrimPrefix __line__ \\"requests=\\" }}" |= "warn"', streams: [[H2, [[41, '5 level=warn']]]] },
  // Go functions take the piped value last: TrimPrefix("requests=", line) leaves "requests=".
  { q: '{host="h2"} | line_format "{{ __line__ | TrimPrefix \\"requests=\\" }}" |= "warn"', streams: [] },
  { q: '{host="h2"} | line_format "{{.x"', error: /parse error/ },
  // ---- label_format ----
  {
    q: '{host="h2"} | logfmt | label_format lvl=level | keep lvl',
    streams: [
      [{ lvl: 'info' }, [11, 21, 31, 51]],
      [{ lvl: 'warn' }, [41]],
    ],
  },
  // A rename removes the source label.
  {
    q: '{host="h2"} | logfmt requests="requests" | label_format count=requests',
    streams: [
      [{ ...H2, count: '10' }, [11]],
      [{ ...H2, count: '20' }, [21]],
      [{ ...H2, count: '35' }, [31]],
      [{ ...H2, count: '5' }, [41]],
      [{ ...H2, count: '15' }, [51]],
    ],
  },
  {
    q: '{host="h2"} | logfmt | label_format tag="{{.level}}-{{.requests}}" | keep tag',
    streams: [
      [{ tag: 'info-10' }, [11]],
      [{ tag: 'info-20' }, [21]],
      [{ tag: 'info-35' }, [31]],
      [{ tag: 'warn-5' }, [41]],
      [{ tag: 'info-15' }, [51]],
    ],
  },
  { q: '{host="h2"} | label_format host="{{.host}}-x"', streams: [[{ ...H2, host: 'h2-x' }, [11, 21, 31, 41, 51]]] },
  {
    q: '{host="h2"} | logfmt | label_format a=level, b="{{.requests}}" | keep a, b',
    streams: [
      [{ a: 'info', b: '10' }, [11]],
      [{ a: 'info', b: '20' }, [21]],
      [{ a: 'info', b: '35' }, [31]],
      [{ a: 'warn', b: '5' }, [41]],
      [{ a: 'info', b: '15' }, [51]],
    ],
  },
  { q: '{host="h2"} | label_format a=b, a=c', error: /multiple label name 'a'/ },
  { q: '{app="api", env="dev"} | logfmt | label_format d=duration | d > 1s | keep d', streams: [[{ d: '1.2s' }, [25]]] },
  { q: '{host="h2"} | label_format env="{{ .env | ToUpper }}" | keep env', streams: [[{ env: 'PROD' }, [11, 21, 31, 41, 51]]] },
  // ---- drop and keep ----
  {
    q: '{host="h2"} | logfmt | drop requests',
    streams: [
      [{ ...H2, level: 'info' }, [11, 21, 31, 51]],
      [{ ...H2, level: 'warn' }, [41]],
    ],
  },
  {
    q: '{host="h2"} | logfmt | drop level="info", requests',
    streams: [
      [H2, [11, 21, 31, 51]],
      [{ ...H2, level: 'warn' }, [41]],
    ],
  },
  { q: '{app="api"} | drop env', streams: [[{ app: 'api' }, [10, 15, 20, 25, 30, 35, 40, 45, 50]]] },
  {
    q: '{host="h2"} | logfmt | keep level, host',
    streams: [
      [{ host: 'h2', level: 'info' }, [11, 21, 31, 51]],
      [{ host: 'h2', level: 'warn' }, [41]],
    ],
  },
  {
    q: '{host="h2"} | logfmt | keep level="warn", requests',
    streams: [
      [{ requests: '10' }, [11]],
      [{ requests: '20' }, [21]],
      [{ requests: '35' }, [31]],
      [{ level: 'warn', requests: '5' }, [41]],
      [{ requests: '15' }, [51]],
    ],
  },
  {
    q: '{app="web"} | drop host=~"h1"',
    streams: [
      [{ app: 'web', env: 'prod' }, [12, 22, 32, 42]],
      [H2, [11, 21, 31, 41, 51]],
    ],
  },
  { q: '{app="api", env="dev"} | logfmt | drop level, msg, duration, bytes, path', streams: [[D, [15, 25, 35, 45]]] },
  { q: '{app="batch"} | keep app', streams: [[{ app: 'batch' }, [5, 55]]] },
  {
    q: '{app="batch"} | drop level',
    streams: [
      [{ app: 'batch', env: 'dev', trace_id: 't5' }, [5]],
      [{ app: 'batch', env: 'dev' }, [55]],
    ],
  },
  {
    q: '{app="batch"} | keep trace_id="t5"',
    streams: [
      [{ trace_id: 't5' }, [5]],
      [{}, [55]],
    ],
  },
  {
    q: `{app="batch"} | label_format level="{{ .trace_id }}"`,
    streams: [
      [{ ...B, level: 't5', trace_id: 't5' }, [5]],
      [{ app: 'batch', env: 'dev' }, [55]],
    ],
  },
];
