/** Range aggregations (with and without unwrap), vector aggregations, binary operators, label_replace. */
import { B, D, H1, H2, P, type Case } from './case.js';

const B5 = { ...B, trace_id: 't5' };
const h2u = '{host="h2"} | logfmt | unwrap requests';

export const METRIC_CASES: Case[] = [
  // ---- log range aggregations; windows are (t - range, t] ----
  {
    q: 'count_over_time({app="api"}[1m])',
    vector: [
      [P, 5],
      [D, 4],
    ],
  },
  {
    q: 'count_over_time({app="api"}[30s])',
    vector: [
      [P, 2],
      [D, 2],
    ],
  },
  {
    q: 'rate({app="api"}[1m])',
    vector: [
      [P, 5 / 60],
      [D, 4 / 60],
    ],
  },
  { q: 'count_over_time({app="api"} |= "request" [1m])', vector: [[P, 3]] },
  { q: 'count_over_time({app="api"}[1m] |= "request")', vector: [[P, 3]] },
  { q: 'count_over_time(({app="api"} |= "request")[1m])', vector: [[P, 3]] },
  { q: 'sum(count_over_time({app=~".+"}[1m]))', vector: [[{}, 20]] },
  {
    q: 'sum by (app) (count_over_time({app=~".+"}[1m]))',
    vector: [
      [{ app: 'api' }, 9],
      [{ app: 'web' }, 9],
      [{ app: 'batch' }, 2],
    ],
  },
  {
    q: 'count_over_time({app="batch"}[1m])',
    vector: [
      [B5, 1],
      [B, 1],
    ],
  },
  { q: 'bytes_over_time({host="h2"}[1m])', vector: [[H2, 22 + 22 + 22 + 21 + 22]] },
  { q: 'bytes_rate({host="h2"}[1m])', vector: [[H2, 109 / 60]] },
  { q: 'bytes_over_time({host="h2"} |= "warn" [1m])', vector: [[H2, 21]] },
  {
    q: 'count_over_time({app="api"}[30s] offset 30s)',
    vector: [
      [P, 3],
      [D, 2],
    ],
  },
  { q: 'count_over_time({app="api", env="prod"}[10s])', at: 20, vector: [[P, 1]] },
  { q: 'count_over_time({app="api", env="prod"}[10s])', at: 19, vector: [[P, 1]] },
  { q: 'count_over_time({app="api", env="prod"}[10s])', at: 25, vector: [[P, 1]] },
  { q: 'count_over_time({app="api", env="prod"}[1s])', at: 25, vector: [] },
  { q: 'absent_over_time({app="nope"}[1m])', vector: [[{ app: 'nope' }, 1]] },
  { q: 'absent_over_time({app="api"}[1m])', vector: [] },
  { q: 'absent_over_time({app="api"} |= "zzz" [1m])', vector: [[{ app: 'api' }, 1]] },
  { q: 'absent_over_time({app=~"a.+", env="dev"} |= "zzz" [1m])', vector: [[{ env: 'dev' }, 1]] },
  {
    q: 'count_over_time({app="api", env="dev"}[10s])',
    start: 10,
    end: 50,
    step: 10,
    matrix: [
      [
        D,
        [
          [20, 1],
          [30, 1],
          [40, 1],
          [50, 1],
        ],
      ],
    ],
  },
  {
    q: 'count_over_time({host="h2"}[20s])',
    start: 20,
    end: 60,
    step: 20,
    matrix: [
      [
        H2,
        [
          [20, 1],
          [40, 2],
          [60, 2],
        ],
      ],
    ],
  },
  {
    q: 'absent_over_time({host="h2"}[5s])',
    start: 10,
    end: 20,
    step: 5,
    matrix: [
      [
        { host: 'h2' },
        [
          [10, 1],
          [20, 1],
        ],
      ],
    ],
  },
  {
    q: 'rate({app="web"}[1m]) * 60',
    vector: [
      [H1, 4],
      [H2, 5],
    ],
  },
  {
    q: 'count_over_time({app="api", env="prod"} | json level="level" | __error__="" [1m])',
    vector: [
      [{ ...P, level: 'info' }, 2],
      [{ ...P, level: 'error' }, 1],
      [{ ...P, level: 'warn' }, 1],
    ],
  },
  {
    q: 'sum by (level) (count_over_time({app="api", env="dev"} | logfmt [1m]))',
    vector: [
      [{ level: 'info' }, 2],
      [{ level: 'error' }, 1],
      [{ level: 'debug' }, 1],
    ],
  },
  // Entries a parser failed on make a metric query fail until they are filtered out.
  { q: 'count_over_time({app="api", env="prod"} | json [1m])', error: /pipeline error: 'JSONParserErr'/ },
  // An aggregation above does not hide the error.
  { q: 'sum by (level) (count_over_time({app="api", env="prod"} | json [1m]))', error: /pipeline error: 'JSONParserErr'/ },
  { q: 'sum(count_over_time({app="api", env="prod"} | json | __error__="" [1m]))', vector: [[{}, 4]] },
  {
    q: 'sum without (level) (count_over_time({host="h2"} | logfmt [1m]))',
    vector: [10, 20, 35, 5, 15].map((n) => [{ ...H2, requests: String(n) }, 1] as [Record<string, string>, number]),
  },
  {
    q: 'sum by (level) (rate({host="h2"} | logfmt [1m]))',
    vector: [
      [{ level: 'info' }, 4 / 60],
      [{ level: 'warn' }, 1 / 60],
    ],
  },
  {
    q: 'sum by (level) (count_over_time({app="api", env="dev"} | logfmt | line_format "{{.level}}" [1m]))',
    vector: [
      [{ level: 'info' }, 2],
      [{ level: 'error' }, 1],
      [{ level: 'debug' }, 1],
    ],
  },
  { q: 'sum(bytes_over_time({host="h2"} | line_format "xy" [1m]))', vector: [[{}, 10]] },
  // ---- unwrapped range aggregations; the unwrapped label leaves the series labels ----
  {
    q: `sum_over_time(${h2u} [1m])`,
    vector: [
      [{ ...H2, level: 'info' }, 80],
      [{ ...H2, level: 'warn' }, 5],
    ],
  },
  { q: `sum_over_time(${h2u} [1m]) by (host)`, vector: [[{ host: 'h2' }, 85]] },
  { q: `avg_over_time(${h2u} [1m]) by (app)`, vector: [[{ app: 'web' }, 17]] },
  { q: `max_over_time(${h2u} [1m]) by (host)`, vector: [[{ host: 'h2' }, 35]] },
  { q: `min_over_time(${h2u} [1m]) by (host)`, vector: [[{ host: 'h2' }, 5]] },
  { q: `first_over_time(${h2u} [1m]) by (host)`, vector: [[{ host: 'h2' }, 10]] },
  { q: `last_over_time(${h2u} [1m]) by (host)`, vector: [[{ host: 'h2' }, 15]] },
  { q: `stddev_over_time(${h2u} [1m]) by (host)`, vector: [[{ host: 'h2' }, Math.sqrt(106)]] },
  { q: `stdvar_over_time(${h2u} [1m]) by (host)`, vector: [[{ host: 'h2' }, 106]] },
  { q: `quantile_over_time(0.5, ${h2u} [1m]) by (host)`, vector: [[{ host: 'h2' }, 15]] },
  { q: `quantile_over_time(0.9, ${h2u} [1m]) by (host)`, vector: [[{ host: 'h2' }, 29]] },
  { q: `rate(${h2u} [1m]) by (host)`, vector: [[{ host: 'h2' }, 85 / 60]] },
  { q: `sum_over_time(${h2u} [1m]) without (level)`, vector: [[H2, 85]] },
  {
    q: `max_over_time(${h2u} [20s]) by (host)`,
    start: 20,
    end: 60,
    step: 20,
    matrix: [
      [
        { host: 'h2' },
        [
          [20, 10],
          [40, 35],
          [60, 15],
        ],
      ],
    ],
  },
  // Prometheus' extrapolated counter rate: one reset (35 -> 5), extrapolated to 59 s of the 60 s window.
  { q: 'rate_counter({host="h2"} | logfmt requests="requests" | unwrap requests [1m])', vector: [[H2, 59 / 60]] },
  {
    q: 'sum_over_time({app="api", env="dev"} | logfmt | unwrap duration(duration) [1m]) by (env)',
    vector: [[{ env: 'dev' }, 0.015 + 1.2 + 0.25 + 0.005]],
  },
  {
    q: 'max_over_time({app="api", env="prod"} | json | __error__="" | unwrap duration_seconds(latency) [1m]) by (app)',
    vector: [[{ app: 'api' }, 2.5]],
  },
  {
    q: 'sum_over_time({app="api", env="prod"} | json | __error__="" | unwrap bytes(size) [1m]) by (app)',
    vector: [[{ app: 'api' }, 1500 + 300 + 20000 + 2000000]],
  },
  { q: 'sum_over_time({app="api", env="dev"} | logfmt | keep bytes | unwrap bytes | __error__="" [1m])', vector: [[{}, 2560]] },
  { q: 'sum_over_time({app="api", env="dev"} | logfmt | keep bytes | unwrap bytes [1m])', error: /pipeline error: 'SampleExtractionErr'/ },
  {
    q: 'avg_over_time({app="api", env="prod"} | json | __error__="" | unwrap status [1m]) by (level)',
    vector: [
      [{ level: 'info' }, 200.5],
      [{ level: 'error' }, 504],
      [{ level: 'warn' }, 200],
    ],
  },
  { q: 'sum(sum_over_time({app="api", env="prod"} | json | __error__="" | unwrap status [1m]) by (level))', vector: [[{}, 1105]] },
  // ---- vector aggregations ----
  { q: 'sum(rate({app="api"}[1m]))', vector: [[{}, 9 / 60]] },
  { q: 'avg(count_over_time({app=~".+"}[1m]))', vector: [[{}, 20 / 6]] },
  { q: 'min(count_over_time({app=~".+"}[1m]))', vector: [[{}, 1]] },
  { q: 'max(count_over_time({app=~".+"}[1m]))', vector: [[{}, 5]] },
  { q: 'count(count_over_time({app=~".+"}[1m]))', vector: [[{}, 6]] },
  { q: 'sum without (env) (count_over_time({app="api"}[1m]))', vector: [[{ app: 'api' }, 9]] },
  {
    q: 'sum by (env) (count_over_time({app=~".+"}[1m]))',
    vector: [
      [{ env: 'prod' }, 14],
      [{ env: 'dev' }, 6],
    ],
  },
  {
    q: 'sum(count_over_time({app="api"}[1m])) by (env)',
    vector: [
      [{ env: 'prod' }, 5],
      [{ env: 'dev' }, 4],
    ],
  },
  {
    q: 'topk(2, count_over_time({app=~".+"}[1m]))',
    vector: [
      [P, 5],
      [H2, 5],
    ],
  },
  { q: 'bottomk(1, count_over_time({app="api"}[1m]))', vector: [[D, 4]] },
  {
    q: 'topk by (app) (1, count_over_time({app=~"api|web"}[1m]))',
    vector: [
      [P, 5],
      [H2, 5],
    ],
  },
  { q: 'stddev(count_over_time({app="api"}[1m]))', vector: [[{}, 0.5]] },
  { q: 'stdvar(count_over_time({app="api"}[1m]))', vector: [[{}, 0.25]] },
  {
    q: 'sort_desc(count_over_time({app="web"}[1m]))',
    ordered: true,
    vector: [
      [H2, 5],
      [H1, 4],
    ],
  },
  {
    q: 'sort(count_over_time({app="web"}[1m]))',
    ordered: true,
    vector: [
      [H1, 4],
      [H2, 5],
    ],
  },
  {
    q: 'count by (env) (count_over_time({app=~".+"}[1m]))',
    vector: [
      [{ env: 'prod' }, 3],
      [{ env: 'dev' }, 3],
    ],
  },
  {
    q: 'max by (app) (sum by (app, env) (count_over_time({app=~".+"}[1m])))',
    vector: [
      [{ app: 'api' }, 5],
      [{ app: 'web' }, 9],
      [{ app: 'batch' }, 2],
    ],
  },
  {
    q: 'sum(count_over_time({app="api"}[10s]))',
    start: 10,
    end: 60,
    step: 25,
    matrix: [
      [
        {},
        [
          [10, 1],
          [35, 2],
        ],
      ],
    ],
  },
  {
    q: 'sum by (level) (count_over_time({host="h2"} | logfmt [20s]))',
    start: 20,
    end: 60,
    step: 20,
    matrix: [
      [
        { level: 'info' },
        [
          [20, 1],
          [40, 2],
          [60, 1],
        ],
      ],
      [{ level: 'warn' }, [[60, 1]]],
    ],
  },
  // ---- binary operators ----
  {
    q: 'count_over_time({app="api"}[1m]) * 2',
    vector: [
      [P, 10],
      [D, 8],
    ],
  },
  {
    q: '2 * count_over_time({app="api"}[1m])',
    vector: [
      [P, 10],
      [D, 8],
    ],
  },
  { q: 'count_over_time({app="api"}[1m]) > 4', vector: [[P, 5]] },
  {
    q: 'count_over_time({app="api"}[1m]) > bool 4',
    vector: [
      [P, 1],
      [D, 0],
    ],
  },
  { q: '4 < count_over_time({app="api"}[1m])', vector: [[P, 5]] },
  { q: 'count_over_time({app="api"}[1m]) == 4', vector: [[D, 4]] },
  {
    q: 'count_over_time({app="api"}[1m]) % 3',
    vector: [
      [P, 2],
      [D, 1],
    ],
  },
  {
    q: '-count_over_time({app="api"}[1m])',
    vector: [
      [P, -5],
      [D, -4],
    ],
  },
  {
    q: 'count_over_time({app="api"}[1m]) - 1 / 2',
    vector: [
      [P, 4.5],
      [D, 3.5],
    ],
  },
  { q: 'sum(count_over_time({app="api"}[1m])) / sum(count_over_time({app=~".+"}[1m]))', vector: [[{}, 0.45]] },
  {
    q: 'count_over_time({app="api"}[1m]) / on (env) group_left sum by (env) (count_over_time({app="web"}[1m]))',
    vector: [[P, 5 / 9]],
  },
  {
    q: 'sum by (env) (count_over_time({app="api"}[1m])) - on (env) sum by (env) (count_over_time({app="web"}[1m]))',
    vector: [[{ env: 'prod' }, -4]],
  },
  {
    q: 'sum by (app, host) (count_over_time({host="h1"}[1m])) + ignoring (host) sum by (app) (count_over_time({app="web"}[1m]))',
    vector: [[{ app: 'web' }, 13]],
  },
  { q: 'count_over_time({app="api"}[1m]) / count_over_time({app="api", env="dev"}[1m])', vector: [[D, 1]] },
  { q: 'count_over_time({app="api"}[1m]) and count_over_time({app="api"} |= "cache" [1m])', vector: [[D, 4]] },
  { q: 'count_over_time({app="api"}[1m]) unless count_over_time({app="api"} |= "cache" [1m])', vector: [[P, 5]] },
  {
    q: 'count_over_time({app="api", env="dev"}[1m]) or count_over_time({app="web"}[1m])',
    vector: [
      [D, 4],
      [H1, 4],
      [H2, 5],
    ],
  },
  {
    q: 'count_over_time({app="api"}[1m]) or count_over_time({app="api"} |= "cache" [1m])',
    vector: [
      [P, 5],
      [D, 4],
    ],
  },
  { q: 'sum(count_over_time({app="api"}[1m])) + sum(count_over_time({app="nope"}[1m]))', vector: [] },
  { q: 'vector(1) + sum(count_over_time({app="api"}[1m]))', vector: [[{}, 10]] },
  { q: 'sum(count_over_time({app="nope"}[1m])) or vector(0)', vector: [[{}, 0]] },
  { q: '1 + 2 * 3', scalar: 7 },
  { q: '2 ^ 3 ^ 2', scalar: 512 },
  { q: '(1 + 2) * 3', scalar: 9 },
  { q: '10 % 4 - 1', scalar: 1 },
  { q: '1 > bool 2', scalar: 0 },
  {
    q: 'count_over_time({app="api"}[1m]) >= 5 or count_over_time({app="api"}[1m]) <= 4',
    vector: [
      [P, 5],
      [D, 4],
    ],
  },
  { q: 'count_over_time({app="api"}[1m]) + count_over_time({app="web"}[1m])', vector: [] },
  // ---- label_replace ----
  {
    q: 'label_replace(count_over_time({app="api"}[1m]), "stage", "$1", "env", "(p).*")',
    vector: [
      [{ ...P, stage: 'p' }, 5],
      [D, 4],
    ],
  },
  {
    q: 'label_replace(count_over_time({app="web"}[1m]), "host", "node-$1", "host", "h(\\\\d)")',
    vector: [
      [{ ...H1, host: 'node-1' }, 4],
      [{ ...H2, host: 'node-2' }, 5],
    ],
  },
  {
    q: 'label_replace(count_over_time({app="api"}[1m]), "env", "", "env", "dev")',
    vector: [
      [P, 5],
      [{ app: 'api' }, 4],
    ],
  },
  {
    q: 'sum by (x) (label_replace(count_over_time({app=~".+"}[1m]), "x", "${1}-y", "app", "(.*)"))',
    vector: [
      [{ x: 'api-y' }, 9],
      [{ x: 'web-y' }, 9],
      [{ x: 'batch-y' }, 2],
    ],
  },
  // The regex is anchored: "pro" does not match "prod".
  { q: 'label_replace(count_over_time({app="api", env="prod"}[1m]), "x", "y", "env", "pro")', vector: [[P, 5]] },
];
