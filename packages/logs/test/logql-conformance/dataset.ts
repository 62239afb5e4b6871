/**
 * The fixed data set every conformance case runs against. Times are seconds after T0; the lines
 * mix JSON, logfmt, an access-log format and ANSI colours, so each parser has something to read.
 */
import { MemoryLogQuerier, type MemoryStream } from '../memory-log-querier.js';

export const T0_NS = 1_700_000_000_000_000_000n;
export const at = (sec: number): bigint => T0_NS + BigInt(Math.round(sec * 1e9));

const e = (sec: number, line: string, md?: Record<string, string>): [bigint, string, Record<string, string>?] =>
  md ? [at(sec), line, md] : [at(sec), line];

export const STREAMS: MemoryStream[] = [
  {
    labels: { app: 'api', env: 'prod' },
    entries: [
      e(
        10,
        '{"level":"info","msg":"request served","status":200,"latency":"120ms","size":"1.5KB","user":{"id":"u1","plan":"free"},"tags":["a","b"]}',
      ),
      e(20, '{"level":"error","msg":"upstream timeout","status":504,"latency":"2.5s","size":"300B","user":{"id":"u2","plan":"pro"}}'),
      e(30, '{"level":"info","msg":"request served","status":201,"latency":"80ms","size":"20KB","user":{"id":"u1","plan":"free"}}'),
      e(40, '{"level":"warn","msg":"slow request","status":200,"latency":"900ms","size":"2MB","user":{"id":"u3","plan":"pro"}}'),
      e(50, 'panic: runtime error'),
    ],
  },
  {
    labels: { app: 'api', env: 'dev' },
    entries: [
      e(15, 'level=info msg="cache hit" duration=15ms bytes=512 path=/users'),
      e(25, 'level=error msg="db down" duration=1.2s bytes=0 path=/orders'),
      e(35, 'level=info msg="cache miss" duration=250ms bytes=2048 path=/users'),
      e(45, 'level=debug msg=noop duration=5ms path=/health'),
    ],
  },
  {
    labels: { app: 'web', env: 'prod', host: 'h1' },
    entries: [
      e(12, '10.0.0.1 - - [01/Jan/2024] "GET /index.html HTTP/1.1" 200 1024'),
      e(22, '10.0.0.2 - - [01/Jan/2024] "POST /login HTTP/1.1" 401 87'),
      e(32, '10.0.0.1 - - [01/Jan/2024] "GET /app.js HTTP/1.1" 200 40960'),
      e(42, '\x1b[31mERROR\x1b[0m colored failure'),
    ],
  },
  {
    labels: { app: 'web', env: 'prod', host: 'h2' },
    entries: [
      e(11, 'requests=10 level=info'),
      e(21, 'requests=20 level=info'),
      e(31, 'requests=35 level=info'),
      e(41, 'requests=5 level=warn'),
      e(51, 'requests=15 level=info'),
    ],
  },
  {
    labels: { app: 'batch', env: 'dev', level: 'info' },
    entries: [
      e(5, '{"level":"error","job":"nightly"}', { trace_id: 't5' }),
      e(55, '{"level":"info","job":"nightly","_entry":"job finished"}'),
    ],
  },
];

export function dataset(applyLineFilter = true): MemoryLogQuerier {
  return new MemoryLogQuerier(STREAMS, applyLineFilter);
}
