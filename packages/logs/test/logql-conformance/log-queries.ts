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
