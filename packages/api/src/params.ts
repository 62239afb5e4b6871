/**
 * Request parameters as Prometheus reads them: the URL query merged with an
 * application/x-www-form-urlencoded POST body (Grafana POSTs by default).
 */
import type { IncomingMessage } from 'node:http';
import { StrataError } from '@strata/model';

/** Form bodies for the query API are small; a larger one is an error, not an allocation. */
export const MAX_FORM_BYTES = 4 * 1024 * 1024;

export async function readParams(req: IncomingMessage): Promise<URLSearchParams> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const params = new URLSearchParams(url.search);
  const ctype = (req.headers['content-type'] ?? '').toLowerCase();
  if (req.method === 'POST' && ctype.startsWith('application/x-www-form-urlencoded')) {
    const body = await readBody(req, MAX_FORM_BYTES);
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
  }
  return params;
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw new StrataError('request-too-large', `request body exceeds ${limit} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Prometheus' time parameter: unix seconds (fractional allowed) or RFC 3339. Returns milliseconds. */
export function parseTime(s: string, param: string): number {
  const f = Number(s);
  if (s.trim() !== '' && Number.isFinite(f)) return Math.round(f * 1000);
  const d = Date.parse(s);
  if (!Number.isNaN(d)) return d;
  // Prometheus' own min/max time sentinels, as sent by some clients.
  if (s === MIN_TIME_RFC3339) return MIN_TIME_MS;
  if (s === MAX_TIME_RFC3339) return MAX_TIME_MS;
  throw new StrataError('bad-query', `invalid parameter "${param}": cannot parse "${s}" to a valid timestamp`);
}

/** Duration parameter: float seconds or a Prometheus duration (1h30m). Returns milliseconds. */
export function parseDurationParam(s: string, param: string): number {
  const f = Number(s);
  if (s.trim() !== '' && Number.isFinite(f)) return Math.round(f * 1000);
  const ms = parsePromDuration(s);
  if (ms === undefined) throw new StrataError('bad-query', `invalid parameter "${param}": cannot parse "${s}" to a valid duration`);
  return ms;
}

/** Thanos' max_source_resolution: `auto` (step / 5) or a duration in ms (0s: raw data only). */
export function parseResolution(s: string, param = 'max_source_resolution'): number | 'auto' {
  if (s === 'auto') return 'auto';
  const ms = parseDurationParam(s, param);
  if (ms < 0) throw new StrataError('bad-query', `invalid parameter "${param}": negative resolution ${s}`);
  return ms;
}

const UNIT_MS: Record<string, number> = { y: 365 * 86400000, w: 7 * 86400000, d: 86400000, h: 3600000, m: 60000, s: 1000, ms: 1 };
const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Prometheus model.ParseDuration: units in descending order, each at most once. */
export function parsePromDuration(s: string): number | undefined {
  if (s === '' || s === '0') return s === '0' ? 0 : undefined;
  const m = DURATION_RE.exec(s);
  if (!m) return undefined;
  const units = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  let total = 0;
  for (let i = 0; i < units.length; i++) if (m[i + 1] !== undefined) total += Number(m[i + 1]) * UNIT_MS[units[i]];
  return total;
}

/** "All of time" when start/end are absent; Prometheus' sentinels clamp to these as well. */
export const MIN_TIME_MS = Number.MIN_SAFE_INTEGER;
export const MAX_TIME_MS = Number.MAX_SAFE_INTEGER;
// Prometheus' API encodes its minimum and maximum time as these strings (Go's time range ends).
const MIN_TIME_RFC3339 = '-292273086-05-16T16:47:06Z';
const MAX_TIME_RFC3339 = '292277025-08-18T07:12:54.999999999Z';
