/**
 * The web configuration at run time: the file and every file it names are watched and reloaded
 * on change (a bad edit keeps the previous configuration and is logged and counted, where
 * exporter-toolkit would fail every request until fixed); basic-auth checks with a cache, so
 * bcrypt (~100 ms in JavaScript) runs once per distinct credential, not per request; and the
 * client-certificate rules Node's TLS options cannot express by themselves.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { TLSSocket, TlsOptions } from 'node:tls';
import bcrypt from 'bcryptjs';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { loadWebConfig, type TlsServerSettings, type WebConfig } from './web-config.js';

const POLL_MS = 1000;

export class WebConfigWatcher {
  private current: WebConfig;
  private stamps: string;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((c: WebConfig) => void)[] = [];
  private readonly reloadOk: Gauge | undefined;

  /** Throws WebConfigError: a bad file at start-up stops the process, as in Prometheus. */
  constructor(
    readonly file: string,
    private readonly logger?: Logger,
    registry?: Registry,
  ) {
    this.current = loadWebConfig(file);
    this.stamps = stampsOf(this.current.files);
    if (registry) {
      this.reloadOk = new Gauge({
        name: 'strata_web_config_last_reload_successful',
        help: 'Whether the last reload of --web.config.file (and the files it names) succeeded.',
        registers: [registry],
      });
      this.reloadOk.set(1);
    }
  }

  get config(): WebConfig {
    return this.current;
  }

  onChange(fn: (c: WebConfig) => void): void {
    this.listeners.push(fn);
    if (!this.timer) {
      this.timer = setInterval(() => this.check(), POLL_MS);
      this.timer.unref();
    }
  }

  /** Reloads when any file changed; returns whether it did. */
  check(): boolean {
    const stamps = stampsOf(this.current.files);
    if (stamps === this.stamps) return false;
    this.stamps = stamps;
    let next: WebConfig;
    try {
      next = loadWebConfig(this.file);
    } catch (e) {
      this.reloadOk?.set(0);
      this.logger?.error({ file: this.file, err: (e as Error).message }, 'web config not reloaded; keeping the previous one');
      return false;
    }
    this.stamps = stampsOf(next.files);
    this.current = next;
    this.reloadOk?.set(1);
    for (const fn of this.listeners) fn(next);
    this.logger?.info({ file: this.file }, 'web config reloaded');
    return true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

function stampsOf(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const s = fs.statSync(f);
        return `${f}:${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return `${f}:missing`;
      }
    })
    .join('\n');
}

/** Node TLS server options for the settings; client checks beyond them are in clientCertProblem. */
export function tlsServerOptions(t: TlsServerSettings): TlsOptions {
  return {
    cert: t.cert,
    key: t.key,
    ca: t.clientCa,
    requestCert: t.clientAuth !== 'NoClientCert',
    // Only this mode makes OpenSSL itself fail the handshake on a missing or unverifiable cert.
    rejectUnauthorized: t.clientAuth === 'RequireAndVerifyClientCert',
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    ciphers: t.ciphers,
    ecdhCurve: t.ecdhCurve,
    honorCipherOrder: t.honorCipherOrder,
  };
}

/**
 * Why a connection that completed its handshake must still be refused, or undefined:
 * RequireAnyClientCert without a certificate, VerifyClientCertIfGiven with one that does not
 * verify, a certificate naming none of client_allowed_sans.
 */
export function clientCertProblem(t: TlsServerSettings, sock: TLSSocket): string | undefined {
  const cert = sock.getPeerCertificate();
  const given = cert !== null && Object.keys(cert).length > 0;
  if (t.clientAuth === 'RequireAnyClientCert' && !given) return 'no client certificate';
  if (t.clientAuth === 'VerifyClientCertIfGiven' && given && !sock.authorized)
    return `client certificate not verified: ${String(sock.authorizationError)}`;
  if (t.allowedSans) {
    if (!given) return 'no client certificate to match against client_allowed_sans';
    const sans = (cert.subjectaltname ?? '').split(', ').map((s) => s.slice(s.indexOf(':') + 1));
    if (!sans.some((s) => t.allowedSans!.includes(s)))
      return `client certificate names none of client_allowed_sans (${t.allowedSans.join(', ')})`;
  }
  return undefined;
}

/**
 * The bcrypt hash (cost 10) of a random password that was thrown away: unknown users cost the
 * same bcrypt run as known ones, so response times do not tell which user names exist.
 */
const DECOY_HASH = '$2b$10$LULcx6G3Y60PjkHHR3aWH.BTUVSy8mO4RIl57omcF.pfBhu64aSty';
const CACHE_SIZE = 100;
/**
 * Distinct credentials waiting for bcrypt (~100 ms each) beyond which new ones are answered
 * "busy" at once: a flood of guessed passwords must not queue without bound, and a sender told
 * 503 retries where a 401 would make Prometheus drop its samples.
 */
export const MAX_PENDING_BCRYPT = 32;

export class BasicAuthenticator {
  private readonly bcryptRuns: Counter | undefined;

  constructor(registry?: Registry) {
    if (registry)
      this.bcryptRuns = new Counter({
        name: 'strata_web_basic_auth_bcrypt_runs_total',
        help: 'bcrypt comparisons run for basic auth (credentials not answered from the cache); a steep rise is someone guessing passwords.',
        registers: [registry],
      });
  }

  private readonly cache = new Map<string, boolean>();
  private readonly pending = new Map<string, Promise<boolean>>();
  /** One bcrypt run at a time: a flood of new passwords costs one core, never all of them. */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Whether the Authorization header names a configured user with the right password; 'busy'
   * when too many new credentials wait for bcrypt already.
   */
  async check(users: ReadonlyMap<string, string>, authorization: string | undefined): Promise<boolean | 'busy'> {
    const creds = parseBasic(authorization);
    if (!creds) return false;
    const hash = users.get(creds.user);
    // The hash is part of the key: a password changed in the file is never answered from the cache.
    const key = crypto
      .createHash('sha256')
      .update(`${creds.user}\0${hash ?? ''}\0${creds.password}`)
      .digest('base64');
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size >= MAX_PENDING_BCRYPT) return 'busy';
      p = this.queue
        .then(() => {
          this.bcryptRuns?.inc();
          return bcrypt.compare(creds.password, hash ?? DECOY_HASH);
        })
        .then((ok) => ok && hash !== undefined);
      this.queue = p.catch(() => undefined);
      this.pending.set(key, p);
      void p.then(
        (ok) => {
          this.pending.delete(key);
          if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
          this.cache.set(key, ok);
        },
        () => this.pending.delete(key),
      );
    }
    return p;
  }
}

function parseBasic(h: string | undefined): { user: string; password: string } | undefined {
  if (!h) return undefined;
  const m = /^basic\s+(\S+)\s*$/i.exec(h);
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : { user: text.slice(0, i), password: text.slice(i + 1) };
}
