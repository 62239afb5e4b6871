/**
 * A ring of three receivers (RF 2) whose listeners require mutual TLS and basic auth, as a
 * hardened deployment runs them: receivers forward to each other with the client settings of
 * --receiver.forward-client-config-file (tls_config, basic_auth from a file) and sign what they
 * forward (--receiver.forward-secret-file); the querier reaches them with
 * --querier.store-client-config-file. A client that forges the internal forwarding headers,
 * even an authenticated one, is refused with 403 and stores nothing.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeSeriesSelection, encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { ForwardAuth } from '@strata/receiver';
import { makePki, type Pki } from '../packages/api/test/tls-fixtures.js';
import { freePort, stop, tempDir } from './harness.js';
import { secureRequest, startSecureStrata, writeWebConfig, type Credentials, type SecureStrata } from './tls-harness.js';

jest.setTimeout(180_000);

const CREDS: Credentials = { user: 'strata', password: 'ring password' };
const SECRET = crypto.randomBytes(32).toString('hex');
const N = 60;
const T = Date.now();

let pki: Pki;
let receivers: SecureStrata[] = [];
let querier: SecureStrata;

const WRITE = { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' };

function body(name: string, n: number, extra: Record<string, string> = {}): Buffer {
  return snappyEncode(
    encodeWriteRequestV1(
      Array.from({ length: n }, (_, i) => ({
        labels: Labels.fromObject({ __name__: name, i: String(i), ...extra }),
        timestamps: [T],
        values: [i],
      })),
    ),
  );
}

async function json(url: string, tenant = 'tenant-a'): Promise<any> {
  const r = await secureRequest(url, pki, CREDS, { headers: { 'X-Scope-OrgID': tenant } });
  expect(r.status).toBe(200);
  return JSON.parse(r.body.toString());
}

async function count(metric: string, tenant = 'tenant-a'): Promise<number> {
  const r = await json(`${querier.url}/api/v1/query?query=${encodeURIComponent(`count(${metric})`)}&time=${T / 1000}`, tenant);
  return r.data.result.length ? Number(r.data.result[0].value[1]) : 0;
}

const localSeries = async (r: SecureStrata, metric: string) =>
  (await json(`${r.url}/api/v1/series?match[]=${metric}`)).data.length as number;

async function refused(r: SecureStrata): Promise<Record<string, number>> {
  const text = (await secureRequest(`${r.url}/metrics`, pki, CREDS)).body.toString();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^strata_receiver_internal_requests_refused_total\{reason="([a-z-]+)"\} (\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

beforeAll(async () => {
  const dir = tempDir('secure-ring');
  pki = makePki(path.join(dir, 'pki'));
  const web = writeWebConfig(dir, pki, CREDS);
  fs.writeFileSync(path.join(dir, 'password'), `${CREDS.password}\n`);
  const client = path.join(dir, 'client.yml');
  // Relative paths are relative to this file, as in Prometheus.
  fs.writeFileSync(
    client,
    `tls_config:\n  ca_file: ${pki.caCert}\n  cert_file: ${pki.clientCert}\n  key_file: ${pki.clientKey}\nbasic_auth:\n  username: ${CREDS.user}\n  password_file: password\n`,
  );
  fs.writeFileSync(path.join(dir, 'secret'), `${SECRET}\n`);
  const ports = [await freePort(), await freePort(), await freePort()];
  const ring = path.join(dir, 'hashrings.json');
  fs.writeFileSync(ring, JSON.stringify([{ hashring: 'default', endpoints: ports.map((p) => `127.0.0.1:${p}`) }]));
  receivers = await Promise.all(
    ports.map((p) =>
      startSecureStrata({
        component: 'receiver',
        port: p,
        webConfig: web,
        pki,
        creds: CREDS,
        args: [
          '--auth.multitenancy-enabled',
          `--receiver.hashrings-file=${ring}`,
          '--receiver.replication-factor=2',
          `--receiver.local-endpoint=127.0.0.1:${p}`,
          `--receiver.forward-client-config-file=${client}`,
          `--receiver.forward-secret-file=${path.join(dir, 'secret')}`,
        ],
      }),
    ),
  );
  querier = await startSecureStrata({
    component: 'querier',
    webConfig: web,
    pki,
    creds: CREDS,
    args: [
      '--auth.multitenancy-enabled',
      `--querier.stores=${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
      `--querier.store-client-config-file=${client}`,
    ],
  });
});

afterAll(async () => {
  if (querier) await stop(querier);
  await Promise.all(receivers.map((r) => stop(r)));
});

test('writes are forwarded over mTLS with basic auth and signed; each series lands on RF receivers; the querier reads them over TLS', async () => {
  const w = await secureRequest(`${receivers[0].url}/api/v1/write`, pki, CREDS, {
    method: 'POST',
    headers: { ...WRITE, 'X-Scope-OrgID': 'tenant-a' },
    body: body('ring_metric', N),
  });
  expect({ status: w.status, body: w.body.toString() }).toEqual({ status: 204, body: '' });
  const local = await Promise.all(receivers.map((r) => localSeries(r, 'ring_metric')));
  expect(local.reduce((a, b) => a + b, 0)).toBe(2 * N);
  expect(local.filter((n) => n > 0).length).toBe(3);
  expect(await count('ring_metric')).toBe(N);
  for (const r of receivers) expect(await refused(r)).toEqual({});
});

const signed = (secret: string, tenant: string, b: Buffer, selection?: string): Record<string, string> => {
  const headers: Record<string, string> = { ...WRITE, 'x-strata-forwarded': '1', 'X-Scope-OrgID': tenant };
  if (selection) headers['x-strata-series-selection'] = selection;
  new ForwardAuth([secret]).sign(headers, tenant, b);
  return headers;
};

const FORGERIES: { name: string; reason: string; request: (b: Buffer) => { headers: Record<string, string>; body: Buffer } }[] = [
  {
    name: 'x-strata-forwarded without a signature',
    reason: 'missing-signature',
    request: (b) => ({ headers: { ...WRITE, 'X-Scope-OrgID': 'tenant-a', 'x-strata-forwarded': '1' }, body: b }),
  },
  {
    name: 'a series selection without a signature',
    reason: 'missing-signature',
    request: (b) => ({
      headers: { ...WRITE, 'X-Scope-OrgID': 'tenant-a', 'x-strata-series-selection': encodeSeriesSelection([0], 4) },
      body: b,
    }),
  },
  {
    name: 'a made-up signature',
    reason: 'bad-signature',
    request: (b) => ({
      headers: {
        ...WRITE,
        'X-Scope-OrgID': 'tenant-a',
        'x-strata-forwarded': '1',
        'x-strata-forward-signature': `v1=${crypto.randomBytes(32).toString('hex')}`,
      },
      body: b,
    }),
  },
  {
    name: 'signed with another secret',
    reason: 'bad-signature',
    request: (b) => ({ headers: signed(crypto.randomBytes(32).toString('hex'), 'tenant-a', b), body: b }),
  },
  {
    name: "a valid signature for tenant-b's write, sent as tenant-a",
    reason: 'bad-signature',
    request: (b) => ({ headers: { ...signed(SECRET, 'tenant-b', b), 'X-Scope-OrgID': 'tenant-a' }, body: b }),
  },
  {
    name: 'a valid signature, another series selection',
    reason: 'bad-signature',
    request: (b) => ({
      headers: {
        ...signed(SECRET, 'tenant-a', b, encodeSeriesSelection([0, 1], 4)),
        'x-strata-series-selection': encodeSeriesSelection([2, 3], 4),
      },
      body: b,
    }),
  },
  {
    name: 'a valid signature, another body',
    reason: 'bad-signature',
    request: (b) => ({ headers: signed(SECRET, 'tenant-a', body('forged_metric', 2)), body: b }),
  },
];

describe.each(FORGERIES)('a client forging the internal headers: $name', ({ reason, request }) => {
  test('is refused with 403, counted, and stores nothing', async () => {
    const target = receivers[1];
    const before = (await refused(target))[reason] ?? 0;
    const r = request(body('forged_metric', 4));
    const w = await secureRequest(`${target.url}/api/v1/write`, pki, CREDS, { method: 'POST', headers: r.headers, body: r.body });
    expect({ status: w.status, body: w.body.toString() }).toEqual({
      status: 403,
      body: expect.stringContaining('(err-strata-unauthenticated-internal-request)'),
    });
    expect((await refused(target))[reason]).toBe(before + 1);
    expect(await localSeries(target, 'forged_metric')).toBe(0);
    expect(await count('forged_metric')).toBe(0);
  });
});

test('a forwarded write signed with the ring secret is accepted and stored where it was sent only', async () => {
  const b = body('signed_metric', 3);
  const w = await secureRequest(`${receivers[2].url}/api/v1/write`, pki, CREDS, {
    method: 'POST',
    headers: signed(SECRET, 'tenant-a', b),
    body: b,
  });
  expect(w.status).toBe(204);
  expect(await Promise.all(receivers.map((r) => localSeries(r, 'signed_metric')))).toEqual([0, 0, 3]);
});
