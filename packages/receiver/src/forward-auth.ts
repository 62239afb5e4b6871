/**
 * Authenticated forwarding between receivers. A forwarded write carries internal headers
 * (x-strata-forwarded: store it, never forward again; x-strata-series-selection: keep only these
 * series of the body). Trusted from anyone, they let a client bypass replication or pick what a
 * replica stores. So the forwarding receiver signs each forwarded request with HMAC-SHA256 under
 * a secret all receivers share, over what decides what gets stored: a version tag, the tenant,
 * the Content-Type, the series selection and the body. The signature goes in
 * x-strata-forward-signature. A request with internal headers and no valid signature is refused
 * with 403 (err-strata-unauthenticated-internal-request) and counted by reason.
 *
 * The secret file holds one secret per line: the first signs, any of them verifies, so a secret
 * is rotated without downtime (add the new one as second line everywhere, then make it first,
 * then drop the old one). A captured signed request can only be replayed as itself (same tenant,
 * same samples), which a receiver accepts as an identical re-send.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { StrataError } from '@strata/model';
import { SERIES_SELECTION_HEADER } from '@strata/remote';

export const FORWARD_SIGNATURE_HEADER = 'x-strata-forward-signature';
/** Set by the distributor on every forwarded request (mirrors distributor.ts, which imports nothing from here). */
const FORWARDED = 'x-strata-forwarded';
const INTERNAL_HEADERS = [FORWARDED, SERIES_SELECTION_HEADER];
export const MIN_FORWARD_SECRET_BYTES = 16;
const VERSION = 'v1';

export class ForwardAuth {
  private readonly keys: Buffer[];

  constructor(secrets: readonly string[]) {
    this.keys = secrets.map((s) => Buffer.from(s, 'utf8'));
    if (this.keys.length === 0) throw new Error('no forwarding secret given');
    for (const k of this.keys) {
      if (k.length < MIN_FORWARD_SECRET_BYTES)
        throw new Error(`a forwarding secret must be at least ${MIN_FORWARD_SECRET_BYTES} bytes (e.g. openssl rand -hex 32)`);
    }
  }

  /** Secrets from a file (one per line, blank lines ignored) and/or given inline. */
  static from(inline: string, file: string): ForwardAuth | undefined {
    const secrets = inline ? [inline] : [];
    if (file)
      secrets.push(
        ...fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean),
      );
    return secrets.length ? new ForwardAuth(secrets) : undefined;
  }

  private mac(key: Buffer, tenant: string, contentType: string, selection: string, body: Buffer): Buffer {
    return crypto
      .createHmac('sha256', key)
      .update(`strata-forward-${VERSION}\n${tenant}\n${contentType}\n${selection}\n`)
      .update(body)
      .digest();
  }

  /** Adds the signature header to a forwarded request's headers. */
  sign(headers: OutgoingHttpHeaders, tenant: string, body: Buffer): void {
    const sel = headers[SERIES_SELECTION_HEADER];
    headers[FORWARD_SIGNATURE_HEADER] =
      `${VERSION}=${this.mac(this.keys[0], tenant, String(headers['Content-Type'] ?? ''), typeof sel === 'string' ? sel : '', body).toString('hex')}`;
  }

  /** Whether the signature header matches under any of the secrets. */
  verify(signature: string, tenant: string, contentType: string, selection: string, body: Buffer): boolean {
    if (!signature.startsWith(`${VERSION}=`)) return false;
    const given = Buffer.from(signature.slice(VERSION.length + 1), 'hex');
    if (given.length !== 32) return false;
    return this.keys.some((k) => crypto.timingSafeEqual(this.mac(k, tenant, contentType, selection, body), given));
  }
}

export type InternalHeaderGuard = (req: IncomingMessage, tenant: string, body: Buffer) => void;

/**
 * Throws 403 unless the request carries no internal header or is signed by a receiver of the
 * ring. Without a secret no request may carry them: a lone receiver is never forwarded to.
 */
export function internalHeaderGuard(registry: Registry, auth: ForwardAuth | undefined): InternalHeaderGuard {
  const refused = new Counter({
    name: 'strata_receiver_internal_requests_refused_total',
    help: 'Writes refused because they carried internal headers (x-strata-forwarded, x-strata-series-selection) without a valid forwarding signature, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const refuse = (reason: 'no-secret' | 'missing-signature' | 'bad-signature', why: string): never => {
    refused.inc({ reason });
    throw new StrataError(
      'unauthenticated-internal-request',
      `${INTERNAL_HEADERS.join(' and ')} are internal headers between receivers; ${why}. Clients must not send them`,
    );
  };
  return (req, tenant, body) => {
    if (!INTERNAL_HEADERS.some((h) => req.headers[h] !== undefined)) return;
    if (!auth) refuse('no-secret', 'this receiver has no --receiver.forward-secret-file, so it accepts no forwarded writes');
    const sig = req.headers[FORWARD_SIGNATURE_HEADER];
    if (typeof sig !== 'string') refuse('missing-signature', `the request has no ${FORWARD_SIGNATURE_HEADER}`);
    const sel = req.headers[SERIES_SELECTION_HEADER];
    if (!auth!.verify(sig as string, tenant, String(req.headers['content-type'] ?? ''), typeof sel === 'string' ? sel : '', body)) {
      refuse(
        'bad-signature',
        `its ${FORWARD_SIGNATURE_HEADER} does not match (a different --receiver.forward-secret-file, or an altered request)`,
      );
    }
  };
}
