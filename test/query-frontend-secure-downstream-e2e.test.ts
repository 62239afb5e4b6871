/**
 * A standalone `strata query-frontend` in front of a querier that requires mutual TLS and basic
 * auth (--web.config.file), reached with --query-frontend.downstream-client-config-file. Clients
 * of the frontend send no credentials of their own: the frontend presents its configured ones on
 * every downstream request, its late-data polls included, so a late sample still shows in a cached
 * range within a poll interval and no poll fails. A frontend without the file is refused by the
 * querier: its polls fail (each one invalidating every cached split) and its queries get no data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { makePki, type Pki } from '../packages/api/test/tls-fixtures.js';
import { startStrata, stop, tempDir, type Strata } from './harness.js';
import { startSecureStrata, writeWebConfig, type Credentials, type SecureStrata } from './tls-harness.js';

jest.setTimeout(120_000);

const MIN = 60_000;
const POLL_MS = 300;
const CREDS: Credentials = { user: 'frontend', password: 'frontend password' };
const POLL_FAILED = 'strata_query_frontend_late_data_invalidations_total{reason="poll_failed"}';
const end = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
const start = end - 60 * MIN;
const late = end - 30 * MIN;

let pki: Pki;
let receiver: Strata;
let querier: SecureStrata;
let frontend: Strata;
let bare: Strata;

async function push(times: number[]): Promise<void> {
  const body = snappyEncode(
    encodeWriteRequestV1([
      { labels: Labels.fromObject({ __name__: 'secure_late', job: 'x' }), timestamps: times, values: times.map((t) => (t - start) / MIN) },
    ]),
  );
  const r = await fetch(`${receiver.url}/api/v1/write`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
  });
  expect(r.status).toBe(204);
}

/** The steps where a sample is, asked of a frontend by a client without credentials. */
async function presentSteps(url: string): Promise<{ status: number; steps: number[] }> {
  const q = encodeURIComponent('count_over_time(secure_late[30s])');
  const r = await fetch(`${url}/api/v1/query_range?query=${q}&start=${start / 1000}&end=${end / 1000}&step=60`);
  const body = (await r.json()) as any;
  return { status: r.status, steps: (body.data?.result?.[0]?.values ?? []).map((v: [number, string]) => v[0] * 1000) };
}

async function metric(url: string, line: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.split(' ').pop()) : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const dir = tempDir('secure-frontend');
  pki = makePki(path.join(dir, 'pki'));
  fs.writeFileSync(path.join(dir, 'password'), `${CREDS.password}\n`);
  const client = path.join(dir, 'downstream.yml');
  fs.writeFileSync(
    client,
    `tls_config:\n  ca_file: ${pki.caCert}\n  cert_file: ${pki.clientCert}\n  key_file: ${pki.clientKey}\nbasic_auth:\n  username: ${CREDS.user}\n  password_file: password\n`,
  );
  receiver = await startStrata({ component: 'receiver', args: ['--receiver.out-of-order-window=6h'] });
  querier = await startSecureStrata({
    component: 'querier',
    webConfig: writeWebConfig(dir, pki, CREDS),
    pki,
    creds: CREDS,
    args: [`--querier.stores=${receiver.url}`, '--querier.workers=0'],
  });
  const poll = `--query-frontend.late-data-poll-interval=${POLL_MS}ms`;
  [frontend, bare] = await Promise.all([
    startStrata({
      component: 'query-frontend',
      args: [`--query-frontend.downstream-url=${querier.url}`, `--query-frontend.downstream-client-config-file=${client}`, poll],
    }),
    startStrata({ component: 'query-frontend', args: [`--query-frontend.downstream-url=${querier.url}`, poll] }),
  ]);
  const times: number[] = [];
  for (let t = start; t <= end; t += MIN) if (t !== late) times.push(t);
  await push(times);
});
afterAll(async () => {
  await Promise.all([receiver, querier, frontend, bare].filter(Boolean).map((p) => stop(p)));
});

test('the frontend reaches a querier behind TLS and basic auth for a client without credentials, and its polls never fail', async () => {
  const before = await presentSteps(frontend.url);
  expect(before.status).toBe(200);
  expect(before.steps).toHaveLength(60);
  expect(before.steps).not.toContain(late);
  await push([late]);
  const pushed = Date.now();
  let after = await presentSteps(frontend.url);
  while (!after.steps.includes(late) && Date.now() - pushed < 10 * POLL_MS) {
    await sleep(POLL_MS / 3);
    after = await presentSteps(frontend.url);
  }
  expect(after.steps).toContain(late);
  expect(after.steps).toHaveLength(61);
  expect(await metric(frontend.url, 'strata_query_frontend_late_data_notices_total')).toBeGreaterThan(0);
  expect(await metric(frontend.url, POLL_FAILED)).toBe(0);
});

test('a frontend without the client config is refused by the querier: its polls fail and it answers no data', async () => {
  await sleep(3 * POLL_MS);
  expect(await metric(bare.url, POLL_FAILED)).toBeGreaterThanOrEqual(2);
  const r = await presentSteps(bare.url);
  expect(r.status).not.toBe(200);
  expect(r.steps).toEqual([]);
});
