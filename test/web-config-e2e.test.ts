/**
 * A real Prometheus remote-writes to `strata all` over mutual TLS with basic auth, as configured
 * by --web.config.file (certificates made by openssl for this test). Beside it, a Prometheus
 * with a wrong password and one with a client certificate from another CA write too: their
 * requests are refused (401 and a failed TLS handshake) and nothing of theirs is stored.
 */
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { makePki, type Pki } from '../packages/api/test/tls-fixtures.js';
import { freePort, startProcess, stop, tempDir, waitFor, type Proc } from './harness.js';
import { secureRequest, startSecureStrata, writeWebConfig, type SecureStrata } from './tls-harness.js';

jest.setTimeout(180_000);

const USER = 'prometheus';
const PASSWORD = 'correct horse battery staple';

let pki: Pki;
let strata: SecureStrata;
let base: string;
const proms: Record<string, { proc: Proc; url: string }> = {};

/** A GET to Strata as an authorised client (client certificate and password). */
async function strataGet(p: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const r = await secureRequest(`${base}${p}`, pki, { user: USER, password: PASSWORD });
  return { ...r, body: r.body.toString() };
}

async function promMetric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').at(-1));
  return sum;
}

async function startPrometheus(sender: string, remoteWrite: string): Promise<void> {
  const port = await freePort();
  const dir = tempDir(`prom-${sender}`);
  const url = `http://127.0.0.1:${port}`;
  fs.writeFileSync(
    path.join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      `  external_labels: { sender: ${sender} }`,
      'scrape_configs:',
      '  - job_name: self',
      `    static_configs: [{ targets: ['127.0.0.1:${port}'] }]`,
      'remote_write:',
      `  - url: ${base}/api/v1/write`,
      '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }',
      remoteWrite,
    ].join('\n') + '\n',
  );
  const proc = startProcess('/usr/bin/prometheus', [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  proms[sender] = { proc, url };
  await waitFor(`prometheus ${sender} ready`, async () => (await fetch(`${url}/-/ready`)).status === 200, 60_000);
}

beforeAll(async () => {
  const dir = tempDir('webcfg');
  pki = makePki(path.join(dir, 'pki'));
  const web = writeWebConfig(
    dir,
    pki,
    { user: USER, password: PASSWORD },
    'http_server_config:\n  headers: { X-Content-Type-Options: nosniff }\n',
  );
  strata = await startSecureStrata({ webConfig: web, pki, creds: { user: USER, password: PASSWORD }, dataDir: path.join(dir, 'data') });
  base = strata.url;
  const tls = (cert: string, key: string) => `    tls_config: { ca_file: ${pki.caCert}, cert_file: ${cert}, key_file: ${key} }`;
  await Promise.all([
    startPrometheus(
      'good',
      [`    basic_auth: { username: ${USER}, password: '${PASSWORD}' }`, tls(pki.clientCert, pki.clientKey)].join('\n'),
    ),
    startPrometheus(
      'wrong-password',
      [`    basic_auth: { username: ${USER}, password: 'guess' }`, tls(pki.clientCert, pki.clientKey)].join('\n'),
    ),
    startPrometheus(
      'rogue-cert',
      [`    basic_auth: { username: ${USER}, password: '${PASSWORD}' }`, tls(pki.rogueClientCert, pki.rogueClientKey)].join('\n'),
    ),
  ]);
});

afterAll(async () => {
  await Promise.all(Object.values(proms).map((p) => stop(p.proc)));
  if (strata) await stop(strata);
});

test('Prometheus writes over mTLS with basic auth; a wrong password gets 401 and a foreign certificate no connection, and neither stores anything', async () => {
  const senders = async () => {
    const r = await strataGet(`/api/v1/query?query=${encodeURIComponent('count by (sender) (up)')}`);
    expect(r.status).toBe(200);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    return (JSON.parse(r.body).data.result as { metric: { sender: string } }[]).map((s) => s.metric.sender).sort();
  };
  await waitFor("the good Prometheus' samples in Strata", async () => (await senders()).includes('good'), 60_000);
  // The refused senders really tried: Prometheus drops 401s as failed, retries TLS failures.
  await waitFor(
    'the wrong password refused',
    async () => (await promMetric(proms['wrong-password'].url, 'prometheus_remote_storage_samples_failed_total')) > 0,
    60_000,
  );
  await waitFor(
    'the foreign certificate refused',
    async () => (await promMetric(proms['rogue-cert'].url, 'prometheus_remote_storage_samples_retried_total')) > 0,
    60_000,
  );
  const metrics = (await strataGet('/metrics')).body;
  expect(metrics).toMatch(/strata_request_duration_seconds_count\{[^}]*status_code="401"[^}]*\} [1-9]/);
  expect(await senders()).toEqual(['good']);
  const names = await strataGet(`/api/v1/label/sender/values`);
  expect(JSON.parse(names.body).data).toEqual(['good']);
});

test('without credentials or without a client certificate Strata answers nothing', async () => {
  const noAuth = await new Promise<number>((resolve, reject) => {
    https
      .get(
        `${base}/api/v1/query?query=up`,
        { agent: false, ca: fs.readFileSync(pki.caCert), cert: fs.readFileSync(pki.clientCert), key: fs.readFileSync(pki.clientKey) },
        (res) => {
          expect(res.headers['www-authenticate']).toBe('Basic');
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
      .on('error', reject);
  });
  expect(noAuth).toBe(401);
  const noCert = await new Promise<string>((resolve) => {
    https
      .get(`${base}/-/ready`, { agent: false, ca: fs.readFileSync(pki.caCert) }, () => resolve('answered'))
      .on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
  });
  expect(noCert).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
});
