/**
 * Outgoing HTTP with Prometheus' client configuration shape (common/config's HTTPClientConfig),
 * so a file's `tls_config`, `basic_auth` and `authorization` blocks read exactly as they do in a
 * prometheus.yml scrape or remote_write section:
 *
 *   basic_auth:     username | username_file, password | password_file
 *   authorization:  type (default Bearer), credentials | credentials_file
 *   bearer_token | bearer_token_file  (Prometheus' older spelling of authorization)
 *   tls_config:     ca | ca_file, cert | cert_file, key | key_file, server_name,
 *                   insecure_skip_verify, min_version, max_version
 *
 * Secret files are re-read when they change, certificate files too (new connections use them),
 * so rotating a credential needs no restart. With a tls_config, endpoints written without a
 * scheme (hashrings entries are host:port) are reached over HTTPS.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { SecureVersion } from 'node:tls';
import YAML from 'yaml';

export class HttpClientConfigError extends Error {}

interface Source {
  inline?: string;
  file?: string;
}

interface TlsClientSettings {
  ca: Source;
  cert: Source;
  key: Source;
  serverName?: string;
  insecureSkipVerify: boolean;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
}

export interface HttpClientSettings {
  basicAuth?: { username: Source; password: Source };
  authorization?: { type: string; credentials: Source };
  tls?: TlsClientSettings;
}

const VERSIONS: Record<string, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };
const TOP_KEYS = ['basic_auth', 'authorization', 'bearer_token', 'bearer_token_file', 'tls_config'];
const SECTION_KEYS: Record<string, string[]> = {
  basic_auth: ['username', 'username_file', 'password', 'password_file'],
  authorization: ['type', 'credentials', 'credentials_file'],
  tls_config: [
    'ca',
    'ca_file',
    'cert',
    'cert_file',
    'key',
    'key_file',
    'server_name',
    'insecure_skip_verify',
    'min_version',
    'max_version',
  ],
};

type Doc = Record<string, unknown>;

function mapping(v: unknown, where: string): Doc {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new HttpClientConfigError(`${where} must be a mapping`);
  for (const k of Object.keys(v)) if (!SECTION_KEYS[where].includes(k)) throw new HttpClientConfigError(`field ${k} not found in ${where}`);
  return v as Doc;
}

function text(d: Doc, k: string, where: string): string | undefined {
  const v = d[k];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new HttpClientConfigError(`${where}.${k} must be a string`);
  return v;
}

/** `name` inline or `name_file`, at most one, as Prometheus requires. */
function source(d: Doc, inlineKey: string, fileKey: string, where: string, dir: string): Source {
  const inline = text(d, inlineKey, where);
  const file = text(d, fileKey, where);
  if (inline !== undefined && file !== undefined)
    throw new HttpClientConfigError(`at most one of ${where} ${inlineKey} & ${fileKey} must be configured`);
  return { inline, file: file === undefined ? undefined : path.resolve(dir, file) };
}

const given = (s: Source) => s.inline !== undefined || s.file !== undefined;

/** Parses the configuration (a YAML document); `dir` resolves relative file names. */
export function parseHttpClientConfig(doc: unknown, dir: string): HttpClientSettings {
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new HttpClientConfigError('the HTTP client configuration must be a mapping');
  const top = doc as Doc;
  for (const k of Object.keys(top))
    if (!TOP_KEYS.includes(k))
      throw new HttpClientConfigError(
        `field ${k} not found in the HTTP client configuration (oauth2, proxy_url and others are not supported)`,
      );
  const out: HttpClientSettings = {};
  if (top.basic_auth !== undefined && top.basic_auth !== null) {
    const b = mapping(top.basic_auth, 'basic_auth');
    out.basicAuth = {
      username: source(b, 'username', 'username_file', 'basic_auth', dir),
      password: source(b, 'password', 'password_file', 'basic_auth', dir),
    };
  }
  const legacy = { inline: text(top, 'bearer_token', ''), file: text(top, 'bearer_token_file', '') };
  if (legacy.inline !== undefined && legacy.file !== undefined)
    throw new HttpClientConfigError('at most one of bearer_token & bearer_token_file must be configured');
  if (top.authorization !== undefined && top.authorization !== null) {
    const a = mapping(top.authorization, 'authorization');
    const type = text(a, 'type', 'authorization') ?? 'Bearer';
    if (type.toLowerCase() === 'basic')
      throw new HttpClientConfigError('authorization type cannot be set to "basic", use "basic_auth" instead');
    if (given(legacy)) throw new HttpClientConfigError('authorization is not compatible with bearer_token & bearer_token_file');
    out.authorization = { type, credentials: source(a, 'credentials', 'credentials_file', 'authorization', dir) };
  } else if (given(legacy)) {
    out.authorization = {
      type: 'Bearer',
      credentials: { inline: legacy.inline, file: legacy.file === undefined ? undefined : path.resolve(dir, legacy.file) },
    };
  }
  if (out.basicAuth && out.authorization)
    throw new HttpClientConfigError('at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured');
  if (top.tls_config !== undefined && top.tls_config !== null) {
    const t = mapping(top.tls_config, 'tls_config');
    const version = (k: string) => {
      const v = text(t, k, 'tls_config');
      if (v === undefined) return undefined;
      if (!VERSIONS[v]) throw new HttpClientConfigError(`unknown TLS version: ${v}`);
      return VERSIONS[v];
    };
    const skip = t.insecure_skip_verify;
    if (skip !== undefined && typeof skip !== 'boolean')
      throw new HttpClientConfigError('tls_config.insecure_skip_verify must be a boolean');
    const tls: TlsClientSettings = {
      ca: source(t, 'ca', 'ca_file', 'tls_config', dir),
      cert: source(t, 'cert', 'cert_file', 'tls_config', dir),
      key: source(t, 'key', 'key_file', 'tls_config', dir),
      serverName: text(t, 'server_name', 'tls_config'),
      insecureSkipVerify: skip === true,
      minVersion: version('min_version'),
      maxVersion: version('max_version'),
    };
    if (given(tls.cert) && !given(tls.key))
      throw new HttpClientConfigError('exactly one of key or key_file must be configured when a client certificate is configured');
    if (given(tls.key) && !given(tls.cert))
      throw new HttpClientConfigError('exactly one of cert or cert_file must be configured when a client key is configured');
    out.tls = tls;
  }
  return out;
}

export function loadHttpClientConfig(file: string): HttpClientSettings {
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new HttpClientConfigError(`cannot read HTTP client configuration ${file}: ${(e as Error).message}`);
  }
  return parseHttpClientConfig(doc, path.dirname(file));
}

/** Files are looked at again at most this often: a rotated secret is used within a few seconds. */
const RECHECK_MS = 2000;

/** A file-backed value re-read when the file changes. */
class Cached {
  private value: Buffer | undefined;
  private stamp = '';
  private checkedAt = -Infinity;

  constructor(private readonly src: Source) {}

  get(): Buffer | undefined {
    if (this.src.file === undefined) return this.src.inline === undefined ? undefined : Buffer.from(this.src.inline);
    const now = Date.now();
    if (now - this.checkedAt < RECHECK_MS && this.value) return this.value;
    this.checkedAt = now;
    let stamp: string;
    try {
      const s = fs.statSync(this.src.file);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (e) {
      if (this.value) return this.value; // keep using the last good value while the file is being replaced
      throw new HttpClientConfigError(`cannot read ${this.src.file}: ${(e as Error).message}`);
    }
    if (stamp !== this.stamp || !this.value) {
      this.value = fs.readFileSync(this.src.file);
      this.stamp = stamp;
    }
    return this.value;
  }
}

export interface HttpClientOptions {
  maxSockets?: number;
}

/** Requests with the configured TLS and credentials; without settings, plain HTTP as before. */
export class HttpClient {
  private readonly username?: Cached;
  private readonly password?: Cached;
  private readonly credentials?: Cached;
  private readonly ca?: Cached;
  private readonly cert?: Cached;
  private readonly key?: Cached;
  private readonly httpAgent: http.Agent;
  private httpsAgent: https.Agent | undefined;
  private tlsMaterial: (Buffer | undefined)[] = [];

  constructor(
    readonly settings: HttpClientSettings = {},
    private readonly opts: HttpClientOptions = {},
  ) {
    if (settings.basicAuth) {
      this.username = new Cached(settings.basicAuth.username);
      this.password = new Cached(settings.basicAuth.password);
    }
    if (settings.authorization) this.credentials = new Cached(settings.authorization.credentials);
    if (settings.tls) {
      this.ca = new Cached(settings.tls.ca);
      this.cert = new Cached(settings.tls.cert);
      this.key = new Cached(settings.tls.key);
      this.agentFor('https://check'); // a missing file fails at start-up, not at the first request
    }
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64 });
  }

  /** A base URL for an endpoint: its own scheme, else https with a tls_config, else http. */
  urlOf(endpoint: string): string {
    if (/^https?:\/\//.test(endpoint)) return endpoint.replace(/\/$/, '');
    return `${this.settings.tls ? 'https' : 'http'}://${endpoint}`;
  }

  /** The Authorization header to send, if any. */
  authorization(): string | undefined {
    if (this.username || this.password) {
      const u = this.username?.get()?.toString('utf8').trim() ?? '';
      const p = this.password?.get()?.toString('utf8').trim() ?? '';
      return `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    }
    if (this.credentials) return `${this.settings.authorization!.type} ${this.credentials.get()?.toString('utf8').trim() ?? ''}`;
    return undefined;
  }

  agentFor(url: string): http.Agent {
    if (!url.startsWith('https:')) return this.httpAgent;
    const material = [this.ca?.get(), this.cert?.get(), this.key?.get()];
    if (!this.httpsAgent || material.some((m, i) => m !== this.tlsMaterial[i])) {
      const old = this.httpsAgent;
      const t = this.settings.tls;
      this.httpsAgent = new https.Agent({
        keepAlive: true,
        maxSockets: this.opts.maxSockets ?? 64,
        ca: material[0],
        cert: material[1],
        key: material[2],
        servername: t?.serverName,
        rejectUnauthorized: !t?.insecureSkipVerify,
        minVersion: t?.minVersion,
        maxVersion: t?.maxVersion,
      });
      this.tlsMaterial = material;
      // Requests in flight on the old agent finish; its idle connections go.
      if (old) setTimeout(() => old.destroy(), 30_000).unref();
    }
    return this.httpsAgent;
  }

  /** node:http(s).request with this client's agent and Authorization header. */
  request(url: string, options: http.RequestOptions, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const headers = { ...(options.headers as Record<string, string>) };
    const auth = this.authorization();
    if (auth !== undefined) headers.Authorization = auth;
    const mod = url.startsWith('https:') ? https : http;
    return mod.request(url, { ...options, headers, agent: this.agentFor(url) }, onResponse);
  }

  /** A fetch over this client: the whole body is read into the Response. */
  fetch(
    url: string,
    init: {
      method?: string;
      body?: Buffer | Uint8Array | URLSearchParams | string;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    } = {},
  ): Promise<Response> {
    return new Promise((resolve, reject) => {
      let body = init.body;
      const headers: Record<string, string> = { ...init.headers };
      if (body instanceof URLSearchParams) {
        body = body.toString();
        headers['Content-Type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
      }
      const req = this.request(url, { method: init.method ?? 'GET', headers, signal: init.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const nullBody = status === 204 || status === 205 || status === 304;
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, headers: h }));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent?.destroy();
  }
}
