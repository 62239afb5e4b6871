/** Prometheus HTTP API response shapes: {status, data, warnings, infos} and {status, errorType, error}. */
import type { ServerResponse } from 'node:http';
import { StrataError, toStrataError } from '@strata/model';

export interface ApiResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export function success(data: unknown, warnings: string[] = [], infos: string[] = []): ApiResult {
  const body: Record<string, unknown> = { status: 'success', data };
  if (warnings.length > 0) body.warnings = warnings;
  if (infos.length > 0) body.infos = infos;
  return { status: 200, body };
}

export function failure(e: unknown): ApiResult {
  const err = toStrataError(e);
  const headers: Record<string, string> = {};
  if (err.retryAfter !== undefined) headers['Retry-After'] = String(err.retryAfter);
  return { status: err.status, body: { status: 'error', errorType: err.errorType, error: err.message }, headers };
}

export function sendResult(res: ServerResponse, r: ApiResult): void {
  const payload = JSON.stringify(r.body);
  res.writeHead(r.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
    ...r.headers,
  });
  res.end(payload);
}

export function sendError(res: ServerResponse, e: unknown): void {
  sendResult(res, failure(e));
}

export function badData(message: string): StrataError {
  return new StrataError('bad-query', message);
}
