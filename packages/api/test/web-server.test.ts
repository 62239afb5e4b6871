/**
 * --web.config.file on a real listener: TLS with every client_auth_type, reloads of certificates
 * and of the client-auth mode, basic auth with bcrypt (and its cache), security headers. Every
 * request goes over a real socket with Node's own TLS client.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { HttpServer, Router, WebConfigWatcher } from '../src/index.js';
import { BasicAuthenticator, MAX_PENDING_BCRYPT } from '../src/web-guard.js';
import { leaf, makePki, type Pki } from './tls-fixtures.js';

jest.setTimeout(60_000);

let pki: Pki;
let dir: string;
const HASH = bcrypt.hashSync('s3cret', 4);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-web-'));
  pki = makePki(path.join(dir, 'pki'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Running {
  url: string;
  server: HttpServer;
  watcher: WebConfigWatcher;
  registry: Registry;
  file: string;
  close: () => Promise<void>;
}

let n = 0;
async function serve(yaml: string): Promise<Running> {
  const file = path.join(dir, `web-${n++}.yml`);
  fs.writeFileSync(file, yaml);
  const registry = new Registry();
  const router = new Router();
  router.add('GET', '/hello', (_req, res) => void res.end('hello'));
  router.addUpgrade(
    '/up',
    (_req, socket) => void socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
  );
  const logger = pino({ level: 'silent' });
  const watcher = new WebConfigWatcher(file, logger, registry);
  const server = new HttpServer({ router, registry, logger, web: watcher });
  const addr = await server.listen('127.0.0.1:0');
  return {
    url: `${server.scheme}://127.0.0.1:${addr.port}`,
    server,
    watcher,
    registry,
    file,
    close: async () => (watcher.stop(), await server.close(100)),
  };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  peerFingerprint?: string;
}

function get(url: string, opts: https.RequestOptions = {}): Promise<Answer | { error: string }> {
  return new Promise((resolve) => {
    const mod = url.startsWith('https') ? https : http;
    const req = mod.get(`${url}/hello`, { agent: false, ca: fs.readFileSync(pki.caCert), ...opts }, (res) => {
      let body = '';
      const fp = (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.()?.fingerprint256;
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, peerFingerprint: fp }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
}

const read = (f: string) => fs.readFileSync(f);
const tlsYaml = (clientAuth: string, extra = '') =>
  `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_auth_type: ${clientAuth}\n${clientAuth === 'NoClientCert' ? '' : `  client_ca_file: ${pki.caCert}\n`}${extra}`;
const good = () => ({ cert: read(pki.clientCert), key: read(pki.clientKey) });
const rogue = () => ({ cert: read(pki.rogueClientCert), key: read(pki.rogueClientKey) });
const ok = (a: Answer | { error: string }) => ('status' in a ? a.status : a.error);

describe.each([
  // client_auth_type, no client cert, the CA's client cert, another CA's client cert
  ['NoClientCert', 200, 200, 200],
  ['RequestClientCert', 200, 200, 200],
  ['RequireAnyClientCert', 'refused', 200, 200],
  ['VerifyClientCertIfGiven', 200, 200, 'refused'],
  ['RequireAndVerifyClientCert', 'refused', 200, 'refused'],
])('client_auth_type %s', (clientAuth, none, mine, other) => {
  let s: Running;
  beforeAll(async () => (s = await serve(tlsYaml(clientAuth))));
  afterAll(() => s.close());
  const norm = (a: Answer | { error: string }) => (typeof ok(a) === 'number' ? ok(a) : 'refused');

  test('without a client certificate', async () => expect(norm(await get(s.url))).toBe(none));
  test('with a certificate from client_ca_file', async () => expect(norm(await get(s.url, good()))).toBe(mine));
  test('with a certificate from another CA', async () => expect(norm(await get(s.url, rogue()))).toBe(other));
});

test('RequireAndVerifyClientCert fails the TLS handshake itself for a wrong certificate, as Go does', async () => {
  const s = await serve(tlsYaml('RequireAndVerifyClientCert'));
  try {
    const r = await get(s.url, rogue());
    expect(r).toEqual({ error: expect.stringMatching(/ALERT|ECONNRESET|EPROTO/) });
    expect(await get(s.url)).toEqual({ error: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
  } finally {
    await s.close();
  }
});

test('client_allowed_sans: a verified certificate must name an allowed SAN', async () => {
  const s = await serve(tlsYaml('RequireAndVerifyClientCert', '  client_allowed_sans: ["other.strata.test"]\n'));
  const t = await serve(tlsYaml('RequireAndVerifyClientCert', '  client_allowed_sans: ["client.strata.test"]\n'));
  try {
    expect(ok(await get(s.url, good()))).not.toBe(200);
    expect(ok(await get(t.url, good()))).toBe(200);
  } finally {
    await s.close();
    await t.close();
  }
});

test('min_version and cipher_suites restrict what a client may negotiate', async () => {
  const s = await serve(tlsYaml('NoClientCert', '  min_version: TLS13\n'));
  const t = await serve(tlsYaml('NoClientCert', '  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n'));
  try {
    expect(ok(await get(s.url, { maxVersion: 'TLSv1.2' }))).not.toBe(200);
    expect(ok(await get(s.url))).toBe(200);
    expect(ok(await get(t.url, { ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }))).not.toBe(200);
    expect(ok(await get(t.url, { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }))).toBe(200);
  } finally {
    await s.close();
    await t.close();
  }
});

test('a renewed certificate and a stricter client_auth_type apply to new connections without a restart', async () => {
  const certDir = path.join(dir, 'rotating');
  fs.mkdirSync(certDir);
  fs.copyFileSync(pki.serverCert, path.join(certDir, 'tls.crt'));
  fs.copyFileSync(pki.serverKey, path.join(certDir, 'tls.key'));
  // Relative paths are relative to the web config's folder.
  const file = path.join(certDir, 'web.yml');
  fs.writeFileSync(file, 'tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n');
  const w2 = new WebConfigWatcher(file);
  const router = new Router();
  router.add('GET', '/hello', (_req, res) => void res.end('hello'));
  const server = new HttpServer({ router, registry: new Registry(), logger: pino({ level: 'silent' }), web: w2 });
  const url = `https://127.0.0.1:${(await server.listen('127.0.0.1:0')).port}`;
  try {
    const before = (await get(url)) as Answer;
    expect(before.status).toBe(200);
    leaf(pki.dir, 'server2', 'ca', 'IP:127.0.0.1', 'serverAuth');
    fs.copyFileSync(path.join(pki.dir, 'server2.crt'), path.join(certDir, 'tls.crt'));
    fs.copyFileSync(path.join(pki.dir, 'server2.key'), path.join(certDir, 'tls.key'));
    expect(w2.check()).toBe(true);
    const after = (await get(url)) as Answer;
    expect(after.status).toBe(200);
    expect(after.peerFingerprint).not.toBe(before.peerFingerprint);
    fs.writeFileSync(
      file,
      `tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${pki.caCert}\n`,
    );
    expect(w2.check()).toBe(true);
    expect(await get(url)).toEqual({ error: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
    expect(ok(await get(url, good()))).toBe(200);
    // A broken edit keeps the configuration in force.
    fs.writeFileSync(path.join(certDir, 'tls.key'), 'not a key');
    expect(w2.check()).toBe(false);
    expect(ok(await get(url, good()))).toBe(200);
  } finally {
    w2.stop();
    await server.close(100);
  }
});

describe('basic_auth_users', () => {
  let s: Running;
  beforeAll(
    async () =>
      (s = await serve(
        `basic_auth_users:\n  alice: ${HASH}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n`,
      )),
  );
  afterAll(() => s.close());
  const basic = (u: string, p: string) => ({ headers: { Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` } });

  test.each([
    ['no credentials', {}],
    ['wrong password', basic('alice', 'guess')],
    ['unknown user', basic('mallory', 's3cret')],
    ['empty password', basic('alice', '')],
    ['not basic', { headers: { Authorization: 'Bearer s3cret' } }],
  ])('%s: 401 with WWW-Authenticate: Basic', async (_name, opts) => {
    const r = (await get(s.url, opts)) as Answer;
    expect({ status: r.status, auth: r.headers['www-authenticate'], body: r.body }).toEqual({
      status: 401,
      auth: 'Basic',
      body: 'Unauthorized (err-strata-unauthorized)\n',
    });
    expect(r.headers['x-frame-options']).toBe('deny');
  });

  test('a flood of guessed credentials gets "busy" (503 + Retry-After) beyond the bcrypt queue, and is never let through', async () => {
    const auth = new BasicAuthenticator();
    const users = new Map([['alice', HASH]]);
    const verdicts = Array.from({ length: MAX_PENDING_BCRYPT + 8 }, (_, i) =>
      auth.check(users, basic('alice', `guess-${i}`).headers.Authorization),
    );
    expect(await Promise.all(verdicts)).toEqual([...Array(MAX_PENDING_BCRYPT).fill(false), ...Array(8).fill('busy')]);
    // The queue drained: the right password is checked again.
    expect(await auth.check(users, basic('alice', 's3cret').headers.Authorization)).toBe(true);
  });

  test('the right password passes; bcrypt runs once for many requests with it', async () => {
    const runs = async () => (await s.registry.getSingleMetric('strata_web_basic_auth_bcrypt_runs_total')!.get()).values[0].value;
    const before = await runs();
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(s.url, basic('alice', 's3cret'))));
    for (const a of answers) expect({ status: (a as Answer).status, body: (a as Answer).body }).toEqual({ status: 200, body: 'hello' });
    expect((answers[0] as Answer).headers['strict-transport-security']).toBe('max-age=31536000');
    expect(await runs()).toBe(before + 1);
    await get(s.url, basic('alice', 's3cret'));
    expect(await runs()).toBe(before + 1);
  });

  test('upgrades (the Loki tail) are held to the same credentials', async () => {
    const upgrade = (opts: { headers?: Record<string, string> }) =>
      new Promise<{ status: number; auth?: string; frame?: string }>((resolve, reject) => {
        const req = http.request(`${s.url}/up`, { headers: { ...opts.headers, Connection: 'Upgrade', Upgrade: 'websocket' } });
        req.on('upgrade', (res, socket) => {
          socket.destroy();
          resolve({ status: res.statusCode ?? 0 });
        });
        req.on('response', (res) => {
          res.resume();
          const h = res.headers;
          res.on('end', () => resolve({ status: res.statusCode ?? 0, auth: h['www-authenticate'], frame: h['x-frame-options'] as string }));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await upgrade({})).toEqual({ status: 401, auth: 'Basic', frame: 'deny' });
    expect(await upgrade(basic('alice', 'guess'))).toEqual({ status: 401, auth: 'Basic', frame: 'deny' });
    expect(await upgrade(basic('alice', 's3cret'))).toEqual({ status: 101 });
  });
});
