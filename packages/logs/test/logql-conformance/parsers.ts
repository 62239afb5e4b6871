/** json, logfmt, regexp, pattern, unpack and the label filters over what they extract. */
import { B, D, H1, P, type Case } from './case.js';

const ok = '| __error__=""';

export const PARSER_CASES: Case[] = [
  // ---- json ----
  { q: '{app="api", env="prod"} | json level="level" | level="error"', streams: [[{ ...P, level: 'error' }, [20]]] },
  {
    q: `{app="api", env="prod"} | json ${ok} | keep level`,
    streams: [
      [{ level: 'info' }, [10, 30]],
      [{ level: 'error' }, [20]],
      [{ level: 'warn' }, [40]],
    ],
  },
  { q: '{app="api", env="prod"} | json user_plan="user.plan" | user_plan="pro"', streams: [[{ ...P, user_plan: 'pro' }, [20, 40]]] },
  { q: '{app="api", env="prod"} | json first_tag="tags[0]" | first_tag!=""', streams: [[{ ...P, first_tag: 'a' }, [10]]] },
  { q: '{app="api", env="prod"} | json t=`tags[1]`, u=`user["id"]` | t!="" | keep t, u', streams: [[{ t: 'b', u: 'u1' }, [10]]] },
  // A parameter naming an object gives its JSON text.
  { q: '{app="api", env="prod"} | json u="user" | keep u | u=~".*u3.*"', streams: [[{ u: '{"id":"u3","plan":"pro"}' }, [40]]] },
  // Nested objects flatten with `_`; arrays are skipped.
  {
    q: `{app="api", env="prod"} | json ${ok} | keep user_id, user_plan`,
    streams: [
      [{ user_id: 'u1', user_plan: 'free' }, [10, 30]],
      [{ user_id: 'u2', user_plan: 'pro' }, [20]],
      [{ user_id: 'u3', user_plan: 'pro' }, [40]],
    ],
  },
  { q: `{app="api", env="prod"} | json ${ok} | tags!=""`, streams: [] },
  { q: `{app="api", env="prod"} | json | user_id="u1" | keep user_id, app`, streams: [[{ app: 'api', user_id: 'u1' }, [10, 30]]] },
  // A line that is not JSON keeps the entry with __error__ set.
  { q: '{app="api", env="prod"} | json | __error__!="" | drop __error_details__', streams: [[{ ...P, __error__: 'JSONParserErr' }, [50]]] },
  {
    q: '{app="api", env="prod"} | json | __error__="JSONParserErr" | drop __error_details__ | line_format "bad"',
    streams: [[{ ...P, __error__: 'JSONParserErr' }, [[50, 'bad']]]],
  },
  // A parsed label the stream already has is renamed <name>_extracted.
  {
    q: '{app="batch"} | json | keep level, level_extracted',
    streams: [
      [{ level: 'info', level_extracted: 'error' }, [5]],
      [{ level: 'info', level_extracted: 'info' }, [55]],
    ],
  },
  // ---- numeric, duration and bytes label filters ----
  { q: `{app="api", env="prod"} | json ${ok} | status >= 500 | keep status`, streams: [[{ status: '504' }, [20]]] },
  {
    q: `{app="api", env="prod"} | json ${ok} | status == 200 | keep msg`,
    streams: [
      [{ msg: 'request served' }, [10]],
      [{ msg: 'slow request' }, [40]],
    ],
  },
  {
    q: `{app="api", env="prod"} | json ${ok} | status != 200 | keep status`,
    streams: [
      [{ status: '504' }, [20]],
      [{ status: '201' }, [30]],
    ],
  },
  { q: `{app="api", env="prod"} | json ${ok} | status < 201 | keep status`, streams: [[{ status: '200' }, [10, 40]]] },
  {
    q: `{app="api", env="prod"} | json ${ok} | status > 200.5 | keep status`,
    streams: [
      [{ status: '504' }, [20]],
      [{ status: '201' }, [30]],
    ],
  },
  {
    q: `{app="api", env="prod"} | json ${ok} | latency > 500ms | keep latency`,
    streams: [
      [{ latency: '2.5s' }, [20]],
      [{ latency: '900ms' }, [40]],
    ],
  },
  {
    q: `{app="api", env="prod"} | json ${ok} | latency <= 120ms | keep latency`,
    streams: [
      [{ latency: '120ms' }, [10]],
      [{ latency: '80ms' }, [30]],
    ],
  },
  { q: `{app="api", env="prod"} | json ${ok} | latency >= 2s500ms | keep latency`, streams: [[{ latency: '2.5s' }, [20]]] },
  {
    q: `{app="api", env="prod"} | json ${ok} | size > 10KB | keep size`,
    streams: [
      [{ size: '20KB' }, [30]],
      [{ size: '2MB' }, [40]],
    ],
  },
  { q: `{app="api", env="prod"} | json ${ok} | size < 1KiB | keep size`, streams: [[{ size: '300B' }, [20]]] },
  {
    q: `{app="api", env="prod"} | json ${ok} | size >= 1.5KB | keep size`,
    streams: [
      [{ size: '1.5KB' }, [10]],
      [{ size: '20KB' }, [30]],
      [{ size: '2MB' }, [40]],
    ],
  },
  // A value that does not convert keeps the entry, marked with LabelFilterErr.
  {
    q: '{app="api", env="prod"} | json | level > 1 | keep __error__',
    streams: [
      [{ __error__: 'LabelFilterErr' }, [10, 20, 30, 40]],
      [{ __error__: 'JSONParserErr' }, [50]],
    ],
  },
  // A missing label fails a numeric comparison.
  {
    q: '{app="api", env="dev"} | logfmt | bytes > 100 | keep msg',
    streams: [
      [{ msg: 'cache hit' }, [15]],
      [{ msg: 'cache miss' }, [35]],
    ],
  },
  // ---- and, or, comma, parentheses ----
  {
    q: `{app="api", env="prod"} | json ${ok} | level="info" or status >= 500 | keep level`,
    streams: [
      [{ level: 'info' }, [10, 30]],
      [{ level: 'error' }, [20]],
    ],
  },
  { q: `{app="api", env="prod"} | json ${ok} | level="info" and status == 201 | keep status`, streams: [[{ status: '201' }, [30]]] },
  { q: `{app="api", env="prod"} | json ${ok} | level="info", status == 200 | keep msg`, streams: [[{ msg: 'request served' }, [10]]] },
  { q: `{app="api", env="prod"} | json ${ok} | level="info" status == 201 | keep status`, streams: [[{ status: '201' }, [30]]] },
  // `and` binds tighter than `or`.
  {
    q: `{app="api", env="prod"} | json ${ok} | level="warn" or level="info" and status == 201 | keep level`,
    streams: [
      [{ level: 'info' }, [30]],
      [{ level: 'warn' }, [40]],
    ],
  },
  {
    q: `{app="api", env="prod"} | json ${ok} | (level="warn" or level="info") and status == 200 | keep level`,
    streams: [
      [{ level: 'info' }, [10]],
      [{ level: 'warn' }, [40]],
    ],
  },
  // Label filters match regexes anchored.
  { q: `{app="api", env="prod"} | json ${ok} | msg=~"request.*" | keep msg`, streams: [[{ msg: 'request served' }, [10, 30]]] },
  {
    q: `{app="api", env="prod"} | json ${ok} | msg!~".*served" | keep msg`,
    streams: [
      [{ msg: 'upstream timeout' }, [20]],
      [{ msg: 'slow request' }, [40]],
    ],
  },
  { q: `{app="api", env="prod"} | json ${ok} | level!="info" | level!="warn" | keep level`, streams: [[{ level: 'error' }, [20]]] },
  // ---- logfmt ----
  {
    q: '{app="api", env="dev"} | logfmt | keep level',
    streams: [
      [{ level: 'info' }, [15, 35]],
      [{ level: 'error' }, [25]],
      [{ level: 'debug' }, [45]],
    ],
  },
  {
    q: '{app="api", env="dev"} | logfmt | duration > 100ms | keep path',
    streams: [
      [{ path: '/orders' }, [25]],
      [{ path: '/users' }, [35]],
    ],
  },
  {
    q: '{app="api", env="dev"} | logfmt | msg="db down"',
    streams: [[{ ...D, level: 'error', msg: 'db down', duration: '1.2s', bytes: '0', path: '/orders' }, [25]]],
  },
  {
    q: '{app="api", env="dev"} | logfmt text="msg" | keep text',
    streams: [
      [{ text: 'cache hit' }, [15]],
      [{ text: 'db down' }, [25]],
      [{ text: 'cache miss' }, [35]],
      [{ text: 'noop' }, [45]],
    ],
  },
  {
    q: '{app="api", env="dev"} | logfmt --strict | keep level',
    streams: [
      [{ level: 'info' }, [15, 35]],
      [{ level: 'error' }, [25]],
      [{ level: 'debug' }, [45]],
    ],
  },
  {
    q: '{host="h1"} |= "GET" | logfmt --strict | keep __error__',
    streams: [[{ __error__: 'LogfmtParserErr' }, [12, 32]]],
  },
  {
    q: '{host="h2"} | logfmt | requests > 15 | keep requests',
    streams: [
      [{ requests: '20' }, [21]],
      [{ requests: '35' }, [31]],
    ],
  },
  // Filters before and after a parser.
  {
    q: '{app="api", env="dev"} |= "cache" | logfmt | path="/users" | keep msg',
    streams: [
      [{ msg: 'cache hit' }, [15]],
      [{ msg: 'cache miss' }, [35]],
    ],
  },
  // ---- regexp ----
  {
    q: '{host="h1"} | regexp `^(?P<ip>\\S+) .*"(?P<method>\\w+) (?P<path>\\S+)` | ip!="" | keep ip, method',
    streams: [
      [{ ip: '10.0.0.1', method: 'GET' }, [12, 32]],
      [{ ip: '10.0.0.2', method: 'POST' }, [22]],
    ],
  },
  {
    q: '{host="h1"} | regexp `" (?P<status>\\d{3}) (?P<size>\\d+)$` | status >= 400 | keep status, size',
    streams: [[{ status: '401', size: '87' }, [22]]],
  },
  {
    q: '{app="web"} | regexp `requests=(?P<req>\\d+)` | req > 12 | keep req',
    streams: [
      [{ req: '20' }, [21]],
      [{ req: '35' }, [31]],
      [{ req: '15' }, [51]],
    ],
  },
  { q: '{app="web"} | regexp "(\\\\d+)"', error: /named capture/ },
  { q: '{app="web"} | regexp "(?P<x>[a-z"', error: /parse error/ },
  // ---- pattern ----
  {
    q: '{host="h1"} | pattern `<ip> - - <_> "<method> <path> <_>" <status> <size>` | method!="" | keep method, status',
    streams: [
      [{ method: 'GET', status: '200' }, [12, 32]],
      [{ method: 'POST', status: '401' }, [22]],
    ],
  },
  { q: '{host="h1"} | pattern `<_> "<method> <_>` | method="POST"', streams: [[{ ...H1, method: 'POST' }, [22]]] },
  { q: '{host="h2"} | pattern `requests=<n> level=<lvl>` | lvl="warn" | keep n', streams: [[{ n: '5' }, [41]]] },
  // A leading literal must start the line.
  { q: '{app="web"} | pattern `level=<lvl>` | lvl!=""', streams: [] },
  // The last capture takes the rest of the line.
  { q: '{host="h1"} | pattern `<_>HTTP/1.1" <rest>` | rest="401 87" | keep rest', streams: [[{ rest: '401 87' }, [22]]] },
  { q: '{app="web"} | pattern "<_> foo"', error: /at least one capture/ },
  // ---- unpack ----
  {
    q: '{app="batch"} | unpack | keep job, level',
    streams: [[{ job: 'nightly', level: 'info' }, [5, [55, 'job finished']]]],
  },
  {
    q: '{app="batch"} | unpack | line_format "{{.job}}: {{__line__}}"',
    streams: [
      [{ ...B, job: 'nightly', level_extracted: 'error', trace_id: 't5' }, [[5, 'nightly: {"level":"error","job":"nightly"}']]],
      [{ ...B, job: 'nightly', level_extracted: 'info' }, [[55, 'nightly: job finished']]],
    ],
  },
  { q: '{host="h2"} | unpack | __error__="JSONParserErr" | keep host', streams: [[{ host: 'h2' }, [11, 21, 31, 41, 51]]] },
];
