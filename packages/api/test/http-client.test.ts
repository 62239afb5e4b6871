/** Prometheus' HTTP client configuration: its refusals, and credentials sent as configured and re-read when rotated. */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { HttpClient, parseHttpClientConfig } from '../src/http-client.js';

const parse = (yaml: string) => parseHttpClientConfig(YAML.parse(yaml), '/etc/strata');

test.each([
  [
    'basic_auth and authorization',
    'basic_auth: { username: a, password: b }\nauthorization: { credentials: t }\n',
    /at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured/,
  ],
  [
    'password and password_file',
    'basic_auth: { username: a, password: b, password_file: f }\n',
    /at most one of basic_auth password & password_file must be configured/,
  ],
  [
    'credentials and credentials_file',
    'authorization: { credentials: t, credentials_file: f }\n',
    /at most one of authorization credentials & credentials_file must be configured/,
  ],
  [
    'authorization type basic',
    'authorization: { type: Basic, credentials: t }\n',
    /authorization type cannot be set to "basic", use "basic_auth" instead/,
  ],
  [
    'bearer_token and authorization',
    'bearer_token: t\nauthorization: { credentials: t }\n',
    /authorization is not compatible with bearer_token & bearer_token_file/,
  ],
  [
    'bearer_token and bearer_token_file',
    'bearer_token: t\nbearer_token_file: f\n',
    /at most one of bearer_token & bearer_token_file must be configured/,
  ],
  ['client certificate without key', 'tls_config: { cert_file: c }\n', /exactly one of key or key_file must be configured/],
  ['client key without certificate', 'tls_config: { key_file: k }\n', /exactly one of cert or cert_file must be configured/],
  ['ca and ca_file', 'tls_config: { ca: x, ca_file: y }\n', /at most one of tls_config ca & ca_file must be configured/],
  ['unknown TLS version', 'tls_config: { min_version: TLS9 }\n', /unknown TLS version: TLS9/],
  ['unsupported key', 'oauth2: { client_id: x }\n', /field oauth2 not found/],
  ['misspelt key', 'tls_config: { cafile: x }\n', /field cafile not found in tls_config/],
])('%s is refused', (_name, yaml, message) => expect(() => parse(yaml)).toThrow(message));

test('relative files are relative to the configuration; the older bearer_token is authorization: Bearer', () => {
  expect(parse('basic_auth: { username: a, password_file: secrets/p }\n').basicAuth?.password.file).toBe('/etc/strata/secrets/p');
  expect(parse('bearer_token: t\n').authorization).toEqual({ type: 'Bearer', credentials: { inline: 't', file: undefined } });
  expect(new HttpClient(parse('tls_config: { insecure_skip_verify: true }\n')).urlOf('10.0.0.1:9009')).toBe('https://10.0.0.1:9009');
  expect(new HttpClient().urlOf('10.0.0.1:9009')).toBe('http://10.0.0.1:9009');
  expect(new HttpClient().urlOf('https://store:9009/')).toBe('https://store:9009');
});

test('the Authorization header a server receives, and a rotated credentials file used without a restart', async () => {
  const seen: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/x`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-client-'));
  try {
    fs.writeFileSync(path.join(dir, 'token'), 'first-token\n');
    const bearer = new HttpClient(parseHttpClientConfig({ authorization: { credentials_file: 'token' } }, dir));
    const basic = new HttpClient(parseHttpClientConfig({ basic_auth: { username: 'u', password: 'p w' } }, dir));
    expect((await bearer.fetch(url)).status).toBe(204);
    expect((await basic.fetch(url, { method: 'POST', body: new URLSearchParams({ a: '1' }) })).status).toBe(204);
    fs.writeFileSync(path.join(dir, 'token'), 'second-token-longer\n');
    await new Promise((r) => setTimeout(r, 2100));
    await bearer.fetch(url);
    expect(seen).toEqual(['Bearer first-token', `Basic ${Buffer.from('u:p w').toString('base64')}`, 'Bearer second-token-longer']);
    bearer.close();
    basic.close();
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
