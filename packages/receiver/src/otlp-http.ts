/**
 * What the OTLP/HTTP routes (/otlp/v1/metrics and /otlp/v1/logs) share: the media types and
 * encodings they take, the gzip body's bound, and the error answer (a google.rpc.Status in the
 * request's own format, Retry-After when a retry can succeed).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import zlib from 'node:zlib';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { StrataError, toStrataError } from '@strata/model';
import { encodeStatus } from '@strata/remote';
import { MAX_DECOMPRESSION_RATIO } from './write-handler.js';

export const OTLP_PROTOBUF = 'application/x-protobuf';
export const OTLP_JSON = 'application/json';

/** The request's body format; refuses other media types and encodings with the protocol's 4xx. */
export function otlpBodyFormat(req: IncomingMessage, signal: 'metrics' | 'logs'): { json: boolean; gzip: boolean } {
  const media = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
  const json = media === OTLP_JSON;
  if (!json && media !== OTLP_PROTOBUF)
    throw new StrataError(
      'unsupported-content-type',
      `unsupported Content-Type ${JSON.stringify(media)}; OTLP/HTTP ${signal} are ${OTLP_PROTOBUF} or ${OTLP_JSON}`,
    );
  const enc = String(req.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  if (enc !== '' && enc !== 'identity' && enc !== 'gzip')
    throw new StrataError(
      'unsupported-content-encoding',
      `unsupported Content-Encoding ${JSON.stringify(enc)}; OTLP bodies are plain or gzip`,
    );
  return { json, gzip: enc === 'gzip' };
}

/** The body as sent, inflated when gzip, never beyond the request limit times the decompression ratio. */
export function otlpBody(body: Buffer, gzip: boolean, maxRequestBytes: number): Buffer {
  if (!gzip) return body;
  const maxOutputLength = maxRequestBytes * MAX_DECOMPRESSION_RATIO;
  try {
    return zlib.gunzipSync(body, { maxOutputLength });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new StrataError(
        'request-too-large',
        `the gzip body inflates beyond ${maxOutputLength} bytes (--receiver.max-request-bytes x ${MAX_DECOMPRESSION_RATIO})`,
      );
    throw new StrataError('invalid-request-body', `body is not valid gzip: ${(e as Error).message}`);
  }
}

/** Answers a failed export; logs what is not the client's doing nor plain overload. */
export function answerOtlpError(
  res: ServerResponse,
  e: unknown,
  json: boolean,
  requests: Counter<'code'>,
  logger: Logger | undefined,
  what: string,
): void {
  const err = toStrataError(e);
  if (err.id === 'internal' || (err.status >= 500 && err.status !== 503)) logger?.error({ err: e }, `${what} failed`);
  res.writeHead(err.status, {
    'Content-Type': json ? OTLP_JSON : OTLP_PROTOBUF,
    ...(err.retryAfter ? { 'Retry-After': String(err.retryAfter) } : {}),
  });
  res.end(encodeStatus(err.status, err.detail, json));
  requests.inc({ code: String(err.status) });
}
