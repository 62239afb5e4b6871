/** The web configuration file is refused exactly where Prometheus refuses it, with its wording. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadWebConfig } from '../src/web-config.js';
import { makePki, type Pki } from './tls-fixtures.js';

let pki: Pki;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-webcfg-'));
  pki = makePki(path.join(dir, 'pki'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function load(yaml: string) {
  const f = path.join(dir, 'web.yml');
  fs.writeFileSync(
    f,
    yaml
      .replace(/\$CERT/g, pki.serverCert)
      .replace(/\$KEY/g, pki.serverKey)
      .replace(/\$CLIENTKEY/g, pki.clientKey)
      .replace(/\$CA/g, pki.caCert),
  );
  return loadWebConfig(f);
}

const HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';

test.each([
  ['unknown top-level key', 'rate_limt: {}\n', /field rate_limt not found/],
  ['unknown TLS key', 'tls_server_config:\n  certfile: x\n', /field certfile not found in tls_server_config/],
  ['key without certificate', 'tls_server_config:\n  key_file: $KEY\n', /missing one of cert or cert_file/],
  ['certificate without key', 'tls_server_config:\n  cert_file: $CERT\n', /missing one of key or key_file/],
  [
    'missing certificate file',
    'tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: $KEY\n',
    /failed to read cert_file \(\/nonexistent.crt\)/,
  ],
  ['key of another certificate', 'tls_server_config:\n  cert_file: $CERT\n  key_file: $CLIENTKEY\n', /failed to load X509KeyPair/],
  [
    'unknown client auth type',
    'tls_server_config:\n  cert_file: $CERT\n  key_file: $KEY\n  client_auth_type: Sometimes\n',
    /invalid ClientAuth: Sometimes/,
  ],
  [
    'client CA without client auth',
    'tls_server_config:\n  cert_file: $CERT\n  key_file: $KEY\n  client_ca_file: $CA\n',
    /client CA's have been configured without a Client Auth Policy/,
  ],
  [
    'allowed SANs with optional certificates',
    'tls_server_config:\n  cert_file: $CERT\n  key_file: $KEY\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: $CA\n  client_allowed_sans: [a]\n',
    /client_allowed_sans requires client_auth_type/,
  ],
  ['unknown TLS version', 'tls_server_config:\n  cert_file: $CERT\n  key_file: $KEY\n  min_version: TLS14\n', /unknown TLS version: TLS14/],
  ['unknown cipher', 'tls_server_config:\n  cert_file: $CERT\n  key_file: $KEY\n  cipher_suites: [TLS_FAKE]\n', /unknown cipher: TLS_FAKE/],
  [
    'unknown curve',
    'tls_server_config:\n  cert_file: $CERT\n  key_file: $KEY\n  curve_preferences: [CurveP999]\n',
    /unknown curve: CurveP999/,
  ],
  [
    'header Prometheus does not allow',
    'http_server_config:\n  headers:\n    X-Powered-By: me\n',
    /HTTP header "X-Powered-By" can not be configured/,
  ],
  [
    'header value outside its enumeration',
    'http_server_config:\n  headers:\n    X-Frame-Options: allow\n',
    /invalid value for X-Frame-Options/,
  ],
  ['password in clear text', 'basic_auth_users:\n  alice: s3cret\n', /basic_auth_users.alice: not a bcrypt hash/],
  ['bcrypt cost out of range', `basic_auth_users:\n  alice: ${HASH.replace('$10$', '$03$')}\n`, /not a bcrypt hash/],
])('%s is refused', (_name, yaml, message) => {
  expect(() => load(yaml)).toThrow(message);
});

test('a full configuration: defaults as in Prometheus, relative paths from the file, Go cipher names mapped', () => {
  fs.copyFileSync(pki.serverCert, path.join(dir, 'rel.crt'));
  const c = load(
    `tls_server_config:\n  cert_file: rel.crt\n  key_file: $KEY\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: $CA\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n  curve_preferences: [X25519, CurveP256]\nhttp_server_config:\n  http2: false\n  headers:\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  alice: ${HASH}\n`,
  );
  expect(c.tls).toMatchObject({
    clientAuth: 'RequireAndVerifyClientCert',
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
    ecdhCurve: 'X25519:P-256',
    honorCipherOrder: true,
  });
  expect(c.files).toEqual([path.join(dir, 'web.yml'), path.join(dir, 'rel.crt'), pki.serverKey, pki.caCert]);
  expect([...c.users]).toEqual([['alice', HASH]]);
  expect(c.headers).toEqual({ 'X-Content-Type-Options': 'nosniff' });
  expect(load('').tls).toBeUndefined();
});
