/** Stream selectors, line filters, limits and directions. */
import { B, D, H1, H2, P, type Case } from './case.js';

export const LOG_QUERY_CASES: Case[] = [
  // ---- stream selectors ----
  {
    q: '{app="api"}',
    streams: [
      [P, [10, 20, 30, 40, 50]],
      [D, [15, 25, 35, 45]],
    ],
  },
  { q: '{app="api", env="dev"}', streams: [[D, [15, 25, 35, 45]]] },
  {
    q: '{app=~"web|batch"}',
    streams: [
      [H1, [12, 22, 32, 42]],
      [H2, [11, 21, 31, 41, 51]],
      [{ ...B, trace_id: 't5' }, [5]],
      [B, [55]],
    ],
  },
  // Regex matchers are anchored: "a.*" matches "api" but not "batch".
  {
    q: '{app=~"a.*"}',
    streams: [
      [P, [10, 20, 30, 40, 50]],
      [D, [15, 25, 35, 45]],
    ],
  },
  {
    q: '{env="prod", app!~"api"}',
    streams: [
      [H1, [12, 22, 32, 42]],
      [H2, [11, 21, 31, 41, 51]],
    ],
  },
  { q: '{host=~"h.+", host!="h1"}', streams: [[H2, [11, 21, 31, 41, 51]]] },
  { q: '{app="nope"}', streams: [] },
  {
    q: '{env=~"prod|dev", app="batch"}',
    streams: [
      [{ ...B, trace_id: 't5' }, [5]],
      [B, [55]],
    ],
  },
  { q: '{app="api", env!="dev"}', streams: [[P, [10, 20, 30, 40, 50]]] },
  { q: '{app="api",env="prod",}', error: /parse error/ },
  // ---- line filters ----
  { q: '{app="api"} |= "request"', streams: [[P, [10, 30, 40]]] },
  {
    q: '{app="api"} != "request"',
    streams: [
      [P, [20, 50]],
      [D, [15, 25, 35, 45]],
    ],
  },
  { q: '{app="api"} |~ `"status":5\\d\\d`', streams: [[P, [20]]] },
  {
    q: '{app="api"} !~ "level=(info|debug)"',
    streams: [
      [P, [10, 20, 30, 40, 50]],
      [D, [25]],
    ],
  },
  { q: '{app="web"} |= "GET" |= "index"', streams: [[H1, [12]]] },
  { q: '{app="web"} |= "GET" != "index"', streams: [[H1, [32]]] },
  {
    q: '{app="api"} |= "cache" or "panic"',
    streams: [
      [P, [50]],
      [D, [15, 35]],
    ],
  },
  {
    q: '{app="api"} != "cache" or "panic"',
    streams: [
      [P, [10, 20, 30, 40]],
      [D, [25, 45]],
    ],
  },
  { q: '{app="api"} |~ "miss" or "hit"', streams: [[D, [15, 35]]] },
  {
    q: '{app=~".+"} |~ "(?i)error"',
    streams: [
      [P, [20, 50]],
      [D, [25]],
      [H1, [42]],
      [{ ...B, trace_id: 't5' }, [5]],
    ],
  },
  {
    q: '{app="web"} |= ""',
    streams: [
      [H1, [12, 22, 32, 42]],
      [H2, [11, 21, 31, 41, 51]],
    ],
  },
  { q: '{app="api"} |~ "cache (hit|miss)"', streams: [[D, [15, 35]]] },
  { q: '{app=~".+"} |= "nightly" |~ "_entry"', streams: [[B, [55]]] },
  { q: '{host="h2"} |= "requests=1"', streams: [[H2, [11, 51]]] },
  // Substring filters are case-sensitive.
  { q: '{app="web"} |= "error"', streams: [] },
  // Regex line filters are not anchored, but ^ anchors at the line start.
  { q: '{app="api"} |~ "^level=error"', streams: [[D, [25]]] },
  { q: '{app="api"} |~ "served"', streams: [[P, [10, 30]]] },
  { q: '{app="api"} |= "request" |~ "status\\":20[01]" != "slow"', streams: [[P, [10, 30]]] },
  // ---- pattern line filters (Loki 3.x): the whole line against literals and <_> ----
  { q: '{host="h1"} |> "<_> \\"GET <_>"', streams: [[H1, [12, 32]]] },
  { q: '{host="h1"} !> "<_> \\"GET <_>"', streams: [[H1, [22, 42]]] },
  { q: '{app="api"} |> "panic: <_>"', streams: [[P, [50]]] },
  // A pattern ending in a literal must end the line.
  { q: '{host="h2"} |> "requests=<_> level=warn"', streams: [[H2, [41]]] },
  { q: '{host="h2"} |> "requests=<_> level=info" or "<_>level=warn"', streams: [[H2, [11, 21, 31, 41, 51]]] },
  { q: '{host="h2"} |> "requests=1<_>"', streams: [[H2, [11, 51]]] },
  // A capture may not be empty: "requests=5" leaves nothing between "=" and "5".
  { q: '{host="h2"} |> "requests=<_>5 level=<_>"', streams: [[H2, [31, 51]]] },
  // Loki searches for a leading literal rather than anchoring it (its Matcher.Test), so this matches every line.
  { q: '{host="h2"} |> "level=<_>"', streams: [[H2, [11, 21, 31, 41, 51]]] },
  { q: '{host="h2"} !> "<_>" ', streams: [] },
  // ---- ip() line filters: any address in the line, as one address, a CIDR or a range ----
  { q: '{host="h1"} |= ip("10.0.0.1")', streams: [[H1, [12, 32]]] },
  { q: '{host="h1"} != ip("10.0.0.1")', streams: [[H1, [22, 42]]] },
  { q: '{app="web"} |= ip("10.0.0.0/30")', streams: [[H1, [12, 22, 32]]] },
  { q: '{app="web"} |= ip("10.0.0.2-10.0.0.9")', streams: [[H1, [22]]] },
  { q: '{app="web"} |= ip("10.0.0.1") or ip("10.0.0.2")', streams: [[H1, [12, 22, 32]]] },
  { q: '{app="web"} |= "GET" |= ip("10.0.0.0/8")', streams: [[H1, [12, 32]]] },
  { q: '{app="web"} |= ip("::ffff:10.0.0.1")', streams: [] },
  // ---- ip() label filters ----
  {
    q: '{host="h1"} | regexp "^(?P<addr>[0-9.]+) " | addr = ip("10.0.0.0/30")',
    streams: [
      [{ ...H1, addr: '10.0.0.1' }, [12, 32]],
      [{ ...H1, addr: '10.0.0.2' }, [22]],
    ],
  },
  // A missing label fails both = and != (line 42 has no address to extract).
  { q: '{host="h1"} | regexp "^(?P<addr>[0-9.]+) " | addr != ip("10.0.0.1")', streams: [[{ ...H1, addr: '10.0.0.2' }, [22]]] },
  {
    q: '{host="h1"} | regexp "^(?P<addr>[0-9.]+) " | addr = ip("10.0.0.2") or addr = ip("10.0.0.1")',
    streams: [
      [{ ...H1, addr: '10.0.0.1' }, [12, 32]],
      [{ ...H1, addr: '10.0.0.2' }, [22]],
    ],
  },
  // `ip` stays usable as a label name.
  { q: '{host="h1"} | regexp "^(?P<ip>[0-9.]+) " | ip = ip("10.0.0.2")', streams: [[{ ...H1, ip: '10.0.0.2' }, [22]]] },
  // An entry with a pipeline error passes an ip() label filter, as it passes numeric ones.
  {
    q: '{app="api", env="prod"} | json | status = ip("1.2.3.4") | drop __error_details__',
    streams: [[{ ...P, __error__: 'JSONParserErr' }, [50]]],
  },
  // ---- limit, direction and window ----
  {
    q: '{app="api"}',
    limit: 3,
    streams: [
      [P, [10, 20]],
      [D, [15]],
    ],
  },
  {
    q: '{app="api"}',
    limit: 3,
    dir: 'backward',
    streams: [
      [P, [50, 40]],
      [D, [45]],
    ],
  },
  {
    q: '{app="web"}',
    limit: 2,
    dir: 'backward',
    streams: [
      [H1, [42]],
      [H2, [51]],
    ],
  },
  {
    q: '{app="api"}',
    dir: 'backward',
    streams: [
      [P, [50, 40, 30, 20, 10]],
      [D, [45, 35, 25, 15]],
    ],
  },
  // The start is inclusive, the end exclusive.
  {
    q: '{app="api"}',
    start: 20,
    end: 40,
    streams: [
      [P, [20, 30]],
      [D, [25, 35]],
    ],
  },
  { q: '{app="api"} |= "request"', limit: 1, dir: 'backward', streams: [[P, [40]]] },
  { q: '{app=~".+"}', start: 0, end: 10, streams: [[{ ...B, trace_id: 't5' }, [5]]] },
  { q: '{app="api"} |= "request"', limit: 2, streams: [[P, [10, 30]]] },
  // ---- structured metadata is part of an entry's labels ----
  {
    q: '{app="batch"}',
    streams: [
      [{ ...B, trace_id: 't5' }, [5]],
      [B, [55]],
    ],
  },
  { q: '{app="batch"} | trace_id="t5"', streams: [[{ ...B, trace_id: 't5' }, [5]]] },
  { q: '{app="batch"} | drop trace_id', streams: [[B, [5, 55]]] },
];
