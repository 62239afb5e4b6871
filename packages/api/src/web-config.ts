/**
 * `--web.config.file`: Prometheus' exporter-toolkit web configuration, read with the same keys,
 * defaults and refusals, so a file written for Prometheus or an exporter works unchanged:
 *
 *   tls_server_config:   cert_file/key_file (or inline cert/key), client_auth_type,
 *                        client_ca_file (or inline client_ca), client_allowed_sans,
 *                        min_version/max_version (default TLS12..TLS13), cipher_suites (Go names,
 *                        TLS 1.2 and older; TLS 1.3 suites are not configurable, as in Go),
 *                        curve_preferences, prefer_server_cipher_suites (default true)
 *   http_server_config:  headers (only the security headers Prometheus allows), http2 (accepted;
 *                        Strata serves HTTP/1.1, which every Prometheus client speaks)
 *   basic_auth_users:    user -> bcrypt hash
 *
 * Relative paths are relative to the file's folder. Unknown keys are refused, as Go's strict
 * YAML decoding refuses them.
 */
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import YAML from 'yaml';
import bcrypt from 'bcryptjs';

export class WebConfigError extends Error {}

export type ClientAuthType =
  'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';

export interface TlsServerSettings {
  cert: Buffer;
  key: Buffer;
  /** CAs that client certificates are verified against. */
  clientCa?: Buffer;
  clientAuth: ClientAuthType;
  /** A verified client certificate must name one of these (DNS, email, IP or URI SAN). */
  allowedSans?: string[];
  minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL names of the TLS 1.2-and-older suites, or undefined for the defaults. */
  ciphers?: string;
  ecdhCurve?: string;
  honorCipherOrder: boolean;
}

export interface WebConfig {
  /** Undefined: plain HTTP. */
  tls?: TlsServerSettings;
  /** User name -> bcrypt hash; empty: no authentication. */
  users: ReadonlyMap<string, string>;
  headers: Readonly<Record<string, string>>;
  /** Every file the configuration was read from: a change to any of them reloads it. */
  files: string[];
}

const TLS_VERSIONS: Record<string, TlsServerSettings['minVersion']> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};
const VERSION_ORDER = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Go's cipher suite names (what users write) to OpenSSL's (what Node takes). */
const CIPHERS: Record<string, string | null> = {
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  // TLS 1.3 suites are valid names but, as in Go, always enabled and not configurable.
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
};

const CURVES: Record<string, string> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

/** The only response headers Prometheus lets a web config set, with their allowed values (none: any). */
const ALLOWED_HEADERS: Record<string, readonly string[]> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

const KEYS: Record<string, readonly string[]> = {
  '': ['tls_server_config', 'http_server_config', 'basic_auth_users'],
  tls_server_config: [
    'cert',
    'key',
    'client_ca',
    'cert_file',
    'key_file',
    'client_auth_type',
    'client_ca_file',
    'cipher_suites',
    'curve_preferences',
    'min_version',
    'max_version',
    'prefer_server_cipher_suites',
    'client_allowed_sans',
  ],
  http_server_config: ['http2', 'headers'],
};

type Doc = Record<string, unknown>;

function section(doc: Doc, name: string): Doc {
  const v = doc[name];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new WebConfigError(`${name} must be a mapping`);
  for (const k of Object.keys(v)) if (!KEYS[name].includes(k)) throw new WebConfigError(`field ${k} not found in ${name}`);
  return v as Doc;
}

function str(doc: Doc, key: string, where: string): string {
  const v = doc[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new WebConfigError(`${where}.${key} must be a string`);
  return v;
}

function strList(doc: Doc, key: string, where: string): string[] | undefined {
  const v = doc[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new WebConfigError(`${where}.${key} must be a list of strings`);
  return v as string[];
}

function readFile(file: string, what: string, files: string[]): Buffer {
  files.push(file);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new WebConfigError(`failed to read ${what} (${file}): ${(e as Error).message}`);
  }
}

/** Reads and validates a web configuration file; throws WebConfigError with Prometheus' wording. */
export function loadWebConfig(file: string): WebConfig {
  const files = [file];
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8')) ?? {};
  } catch (e) {
    throw new WebConfigError(`cannot read web config ${file}: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new WebConfigError(`web config ${file} must be a mapping`);
  const top = doc as Doc;
  for (const k of Object.keys(top))
    if (!KEYS[''].includes(k))
      throw new WebConfigError(`field ${k} not found in the web config (rate_limit and other keys are not supported)`);
  const dir = path.dirname(file);
  const resolve = (p: string) => (p === '' || path.isAbsolute(p) ? p : path.join(dir, p));

  const users = new Map<string, string>();
  const rawUsers = top.basic_auth_users;
  if (rawUsers !== undefined && rawUsers !== null) {
    if (typeof rawUsers !== 'object' || Array.isArray(rawUsers))
      throw new WebConfigError('basic_auth_users must be a mapping of user names to bcrypt hashes');
    for (const [user, hash] of Object.entries(rawUsers)) {
      if (typeof hash !== 'string' || !isBcryptHash(hash))
        throw new WebConfigError(`basic_auth_users.${user}: not a bcrypt hash (generate one with htpasswd -nBC 10 "" or any bcrypt tool)`);
      users.set(user, hash);
    }
  }

  const http = section(top, 'http_server_config');
  const headers: Record<string, string> = {};
  const rawHeaders = http.headers;
  if (rawHeaders !== undefined && rawHeaders !== null) {
    if (typeof rawHeaders !== 'object' || Array.isArray(rawHeaders))
      throw new WebConfigError('http_server_config.headers must be a mapping');
    for (const [name, value] of Object.entries(rawHeaders)) {
      const allowed = ALLOWED_HEADERS[name];
      if (!allowed) throw new WebConfigError(`HTTP header ${JSON.stringify(name)} can not be configured`);
      if (typeof value !== 'string') throw new WebConfigError(`http_server_config.headers.${name} must be a string`);
      if (allowed.length > 0 && !allowed.includes(value))
        throw new WebConfigError(
          `invalid value for ${name}. Expected one of: ${JSON.stringify(allowed)}, but got: ${JSON.stringify(value)}`,
        );
      headers[name] = value;
    }
  }
  if (http.http2 !== undefined && typeof http.http2 !== 'boolean') throw new WebConfigError('http_server_config.http2 must be a boolean');

  return { tls: tlsSettings(section(top, 'tls_server_config'), resolve, files), users, headers, files };
}

function tlsSettings(t: Doc, resolve: (p: string) => string, files: string[]): TlsServerSettings | undefined {
  const w = 'tls_server_config';
  const certFile = resolve(str(t, 'cert_file', w));
  const keyFile = resolve(str(t, 'key_file', w));
  const caFile = resolve(str(t, 'client_ca_file', w));
  const certText = str(t, 'cert', w);
  const keyText = str(t, 'key', w);
  const caText = str(t, 'client_ca', w);
  const clientAuthRaw = str(t, 'client_auth_type', w);
  const enabled = certFile || certText || keyFile || keyText || caFile || caText || clientAuthRaw;
  if (!enabled) return undefined;
  if (!certFile && !certText) throw new WebConfigError('missing one of cert or cert_file');
  if (!keyFile && !keyText) throw new WebConfigError('missing one of key or key_file');
  const cert = certFile ? readFile(certFile, 'cert_file', files) : Buffer.from(certText);
  const key = keyFile ? readFile(keyFile, 'key_file', files) : Buffer.from(keyText);
  const clientCa = caFile ? readFile(caFile, 'client_ca_file', files) : caText ? Buffer.from(caText) : undefined;
  // "RequireClientCert" is the old name Prometheus still accepts.
  const clientAuth = (
    clientAuthRaw === '' ? 'NoClientCert' : clientAuthRaw === 'RequireClientCert' ? 'RequireAnyClientCert' : clientAuthRaw
  ) as ClientAuthType;
  if (
    !['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'].includes(
      clientAuth,
    )
  ) {
    throw new WebConfigError(`invalid ClientAuth: ${clientAuthRaw}`);
  }
  if (clientCa && clientAuth === 'NoClientCert') throw new WebConfigError("client CA's have been configured without a Client Auth Policy");
  const allowedSans = strList(t, 'client_allowed_sans', w);
  if (allowedSans && clientAuth !== 'RequireAnyClientCert' && clientAuth !== 'RequireAndVerifyClientCert') {
    throw new WebConfigError(
      'client_allowed_sans requires client_auth_type to be one of RequireAnyClientCert or RequireAndVerifyClientCert',
    );
  }
  const version = (key: string, dflt: TlsServerSettings['minVersion']) => {
    const s = str(t, key, w);
    if (s === '') return dflt;
    const v = TLS_VERSIONS[s];
    if (!v) throw new WebConfigError(`unknown TLS version: ${s}`);
    return v;
  };
  const minVersion = version('min_version', 'TLSv1.2');
  const maxVersion = version('max_version', 'TLSv1.3');
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) throw new WebConfigError('min_version is above max_version');
  let ciphers: string | undefined;
  const suites = strList(t, 'cipher_suites', w);
  if (suites && suites.length > 0) {
    const names: string[] = [];
    for (const s of suites) {
      if (!(s in CIPHERS)) throw new WebConfigError(`unknown cipher: ${s}`);
      if (CIPHERS[s]) names.push(CIPHERS[s]!);
    }
    // Only TLS 1.3 names listed: Go then keeps its default TLS 1.2 suites, and so do we.
    if (names.length > 0) ciphers = names.join(':');
  }
  const curves = strList(t, 'curve_preferences', w);
  let ecdhCurve: string | undefined;
  if (curves && curves.length > 0) {
    ecdhCurve = curves
      .map((c) => {
        if (!CURVES[c]) throw new WebConfigError(`unknown curve: ${c}`);
        return CURVES[c];
      })
      .join(':');
  }
  // A certificate that does not match its key fails here, not at the first handshake.
  try {
    tls.createSecureContext({ cert, key, ca: clientCa });
  } catch (e) {
    throw new WebConfigError(`failed to load X509KeyPair: ${(e as Error).message}`);
  }
  const prefer = t.prefer_server_cipher_suites;
  if (prefer !== undefined && typeof prefer !== 'boolean') throw new WebConfigError(`${w}.prefer_server_cipher_suites must be a boolean`);
  return { cert, key, clientCa, clientAuth, allowedSans, minVersion, maxVersion, ciphers, ecdhCurve, honorCipherOrder: prefer !== false };
}

/** What Go's bcrypt.Cost accepts: $2a$/$2b$/$2y$, a two-digit cost in 4..31, 53 more characters. */
function isBcryptHash(h: string): boolean {
  const m = /^\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(h);
  if (!m) return false;
  const cost = Number(m[1]);
  if (cost < 4 || cost > 31) return false;
  try {
    bcrypt.getRounds(h);
    return true;
  } catch {
    return false;
  }
}
