/**
 * Realistic structured log lines for tests and benchmarks: a mix of JSON and logfmt with
 * repeating keys, a few levels, paths, durations and request IDs (the part that does not
 * compress), deterministic for a seed.
 */

export interface SyntheticStream {
  labels: Record<string, string>;
  format: 'json' | 'logfmt';
}

const LEVELS = ['info', 'info', 'info', 'info', 'debug', 'debug', 'warn', 'error'];
const PATHS = ['/api/v1/users', '/api/v1/orders', '/healthz', '/api/v1/cart/items', '/login', '/static/app.js'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const MSGS = ['request served', 'cache miss', 'slow query', 'upstream timeout', 'user authenticated', 'retrying'];

export function syntheticStreams(n: number): SyntheticStream[] {
  const out: SyntheticStream[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      labels: { app: `app-${i % 50}`, env: i % 3 === 0 ? 'prod' : 'staging', pod: `pod-${i}` },
      format: i % 2 === 0 ? 'json' : 'logfmt',
    });
  }
  return out;
}

export function syntheticLine(s: SyntheticStream, rnd: () => number, tsMs: number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
  const level = pick(LEVELS);
  const status = level === 'error' ? 500 : level === 'warn' ? 429 : 200;
  const rid = Math.floor(rnd() * 2 ** 48).toString(16);
  const dur = (rnd() * 250).toFixed(2);
  const user = Math.floor(rnd() * 5000);
  const ts = new Date(tsMs).toISOString();
  if (s.format === 'json') {
    return JSON.stringify({
      ts,
      level,
      msg: pick(MSGS),
      method: pick(METHODS),
      path: pick(PATHS),
      status,
      duration_ms: Number(dur),
      request_id: rid,
      user_id: user,
    });
  }
  return `ts=${ts} level=${level} msg="${pick(MSGS)}" method=${pick(METHODS)} path=${pick(PATHS)} status=${status} duration=${dur}ms request_id=${rid} user=${user}`;
}
