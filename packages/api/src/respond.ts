/** Prometheus HTTP API response shapes: {status, data, warnings, infos} and {status, errorType, error}. */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { StrataError, toStrataError } from '@strata/model';

export interface ApiResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * A success answer's `data` already encoded as JSON, e.g. by the worker thread that evaluated a
 * query, so the thread writing the answer neither builds nor stringifies the objects: sendResult
 * writes these bytes between the envelope's JSON. The bytes are owned by the answer from here on.
 */
export class EncodedJson {
  constructor(readonly bytes: Uint8Array) {}

  /** Anything that stringifies the body itself still gets the same JSON (slowly: parsed again). */
  toJSON(): unknown {
    return JSON.parse(Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).toString('utf8'));
  }
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

/**
 * The body's JSON as the pieces to write: exactly JSON.stringify(body), with EncodedJson `data`
 * spliced in as bytes. Only `data` of a `{status, data, ...}` envelope (what success() builds,
 * keys in that order) may be encoded; what follows it (warnings, infos, in whatever order they
 * were set) is stringified as JSON.stringify would.
 */
export function bodyChunks(body: unknown): (string | Uint8Array)[] {
  const env = body as { status?: unknown; data?: unknown } | null;
  if (env === null || typeof env !== 'object' || !(env.data instanceof EncodedJson)) return [JSON.stringify(body)];
  const { status, data, ...rest } = env as Record<string, unknown>;
  const keys = Object.keys(env);
  if (keys[0] !== 'status' || keys[1] !== 'data') return [JSON.stringify(body)];
  const tail = JSON.stringify(rest);
  return [`{"status":${JSON.stringify(status)},"data":`, (data as EncodedJson).bytes, tail === '{}' ? '}' : `,${tail.slice(1)}`];
}

export function sendResult(res: ServerResponse, r: ApiResult): void {
  const chunks = bodyChunks(r.body);
  let length = 0;
  for (const c of chunks) length += typeof c === 'string' ? Buffer.byteLength(c) : c.byteLength;
  res.writeHead(r.status, {
    'Content-Type': 'application/json',
    'Content-Length': length,
    ...r.headers,
  });
  if (chunks.length === 1) {
    res.end(chunks[0]);
    return;
  }
  // One write to the socket for all pieces, no concatenated copy of a large answer.
  res.cork();
  for (let i = 0; i < chunks.length - 1; i++) res.write(chunks[i]);
  res.end(chunks[chunks.length - 1]);
}

export function sendError(res: ServerResponse, e: unknown): void {
  sendResult(res, failure(e));
}

/**
 * Refuses an upgrade request (a WebSocket handshake) with a plain HTTP answer on its socket, as
 * Loki's tail refuses one: the status and the error's text ending with its ID. The socket closes.
 */
export function writeUpgradeError(socket: Duplex, e: unknown, headers: Record<string, string> = {}): void {
  const err = toStrataError(e);
  const body = err.detail;
  const head: Record<string, string> = {
    ...headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  };
  if (err.retryAfter !== undefined) head['Retry-After'] = String(err.retryAfter);
  let text = `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\n`;
  for (const [k, v] of Object.entries(head)) text += `${k}: ${v}\r\n`;
  if (socket.writable) socket.end(text + '\r\n' + body);
  else socket.destroy();
}

export function badData(message: string): StrataError {
  return new StrataError('bad-query', message);
}
