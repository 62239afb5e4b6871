/**
 * Tenants sealed off from each other, on a real `strata all` with multi-tenancy (and a querier
 * in front of it over remote-read). Tenant A writes 3 h of data (its older blocks end up in the
 * bucket, served by the store gateway), every read API is asked as A, then tenant B writes data
 * that overlaps A's (the very same series too) and everything is asked again: A's answers must be
 * byte-identical, so A cannot see, count or infer anything of B's. The same rows asked as B must
 * show B's data (the rows can see data at all). Every API answers 401 without a tenant and 400
 * for a malformed one, and no tenant ID, however crafted, creates anything outside its folder.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Labels, Matcher } from '@strata/model';
import {
  decodeChunkedFrames,
  decodeReadResponse,
  encodeReadRequest,
  encodeWriteRequestV1,
  RESPONSE_SAMPLES,
  RESPONSE_STREAMED_XOR_CHUNKS,
  snappyDecode,
  snappyEncode,
} from '@strata/remote';
import { startStrata, stop, tempDir, waitFor, waitForShippedBlocks, type Strata } from './harness.js';

jest.setTimeout(180_000);

const A = 'tenant-a';
const B = 'tenant-b';
const STEP = 60_000;
const END = Math.floor(Date.now() / STEP) * STEP - STEP;
const START = END - 3 * 3600_000;
const ARGS = [
  '--auth.multitenancy-enabled',
  '--tsdb.block-duration=1h',
  '--tsdb.compaction-interval=1s',
  '--tsdb.retention.local=0s',
  '--store-gateway.sync-interval=1s',
  '--receiver.out-of-order-window=0s',
];

interface TenantData {
  series: Record<string, string>[];
  value: number;
  metadata: { metricFamilyName: string; type: 'counter' | 'gauge'; help: string; unit: string }[];
}

const DATA: Record<string, TenantData> = {
  [A]: {
    series: [
      { __name__: 'a_only_metric', job: 'a-job', a_secret: 'alpha' },
      { __name__: 'shared_metric', job: 'shared', instance: 'i-0' },
      { __name__: 'shared_metric', job: 'shared', instance: 'i-1' },
    ],
    value: 1,
    metadata: [{ metricFamilyName: 'shared_metric', type: 'counter', help: 'shared, as A describes it', unit: '' }],
  },
  [B]: {
    // i-0 and i-1 are A's series exactly; the rest and b_only_metric exist only in B.
    series: [
      { __name__: 'b_only_metric', job: 'b-job', b_secret: 'bravo' },
      ...['i-0', 'i-1', 'i-2', 'i-3', 'i-4'].map((instance) => ({ __name__: 'shared_metric', job: 'shared', instance })),
    ],
    value: 7777.5,
    metadata: [
      { metricFamilyName: 'shared_metric', type: 'gauge', help: 'B-secret-help', unit: 'bytes' },
      { metricFamilyName: 'b_only_metric', type: 'gauge', help: 'B only', unit: '' },
    ],
  },
};
/** Strings that occur only in B's data: none may ever appear in an answer to A. */
const B_MARKERS = ['b_only_metric', 'b-job', 'b_secret', 'bravo', 'B-secret-help', 'i-2', 'i-3', 'i-4', '7777.5', B];

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** node:http rather than fetch: header values are sent as given (latin1 bytes included). */
function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function writeBody(t: TenantData): Buffer {
  const n = (END - START) / STEP + 1;
  const timestamps = Array.from({ length: n }, (_, i) => START + i * STEP);
  return snappyEncode(
    encodeWriteRequestV1(
      t.series.map((s) => ({ labels: Labels.fromObject(s), timestamps, values: timestamps.map(() => t.value) })),
      t.metadata,
    ),
  );
}

const WRITE_HEADERS = {
  'Content-Type': 'application/x-protobuf',
  'Content-Encoding': 'snappy',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

function readBody(accept: number): Buffer {
  return snappyEncode(
    encodeReadRequest({
      queries: [{ startMs: START, endMs: END, matchers: [new Matcher('=~', '__name__', '.+')] }],
      acceptedResponseTypes: [accept],
    }),
  );
}

/** One read API call; `where` says which processes serve it. */
interface Row {
  name: string;
  where: ('all' | 'querier')[];
  method: 'GET' | 'POST';
  path: string;
  form?: string;
  body?: () => Buffer;
  /** The answer as comparable text: JSON as is, protobuf decoded to labels and samples. */
  decode?: (body: Buffer) => string;
}

const sec = (ms: number) => String(ms / 1000);
const q = (s: string) => encodeURIComponent(s);
const RANGE = `start=${sec(START)}&end=${sec(END)}`;
const BOTH: Row['where'] = ['all', 'querier'];
const decodeChunks = (b: Buffer) =>
  JSON.stringify(
    decodeChunkedFrames(b).map((s) => ({ labels: s.labels.toObject(), chunks: s.chunks.map((c) => c.data.toString('base64')) })),
  );
const decodeSamples = (b: Buffer) =>
  JSON.stringify(
    decodeReadResponse(snappyDecode(b, 64 << 20)).map((r) =>
      r.map((s) => ({ labels: s.labels.toObject(), t: [...s.timestamps], v: [...s.values] })),
    ),
  );

const ROWS: Row[] = [
  { name: 'query: every series', where: BOTH, method: 'GET', path: `/api/v1/query?query=${q('{__name__=~".+"}')}&time=${sec(END)}` },
  {
    name: 'query: count of everything',
    where: BOTH,
    method: 'GET',
    path: `/api/v1/query?query=${q('count({__name__=~".+"})')}&time=${sec(END)}`,
  },
  {
    name: 'query: sum of the shared series (POST form)',
    where: BOTH,
    method: 'POST',
    path: '/api/v1/query',
    form: `query=${q('sum(shared_metric)')}&time=${sec(END)}`,
  },
  {
    name: 'query: absent() of a B-only metric',
    where: BOTH,
    method: 'GET',
    path: `/api/v1/query?query=${q('absent(b_only_metric)')}&time=${sec(END)}`,
  },
  {
    name: 'query under /prometheus',
    where: BOTH,
    method: 'GET',
    path: `/prometheus/api/v1/query?query=${q('count by (__name__) ({__name__=~".+"})')}&time=${sec(END)}`,
  },
  {
    name: 'query_range: samples over 3 h (bucket and head)',
    where: BOTH,
    method: 'GET',
    path: `/api/v1/query_range?query=${q('sum by (job) (count_over_time({__name__=~".+"}[10m]))')}&${RANGE}&step=600`,
  },
  { name: 'query_range: raw series', where: BOTH, method: 'GET', path: `/api/v1/query_range?query=${q('{job=~".+"}')}&${RANGE}&step=900` },
  { name: 'series: everything', where: BOTH, method: 'GET', path: `/api/v1/series?match[]=${q('{__name__=~".+"}')}` },
  {
    name: 'series: shared metric in range (POST form)',
    where: BOTH,
    method: 'POST',
    path: '/api/v1/series',
    form: `match[]=${q('shared_metric')}&${RANGE}`,
  },
  { name: 'labels', where: BOTH, method: 'GET', path: '/api/v1/labels' },
  { name: 'labels of the shared job', where: BOTH, method: 'GET', path: `/api/v1/labels?match[]=${q('{job="shared"}')}&${RANGE}` },
  { name: 'label values: __name__', where: BOTH, method: 'GET', path: '/api/v1/label/__name__/values' },
  { name: 'label values: instance', where: BOTH, method: 'GET', path: `/api/v1/label/instance/values?${RANGE}` },
  { name: 'label values: a label only B has', where: BOTH, method: 'GET', path: '/api/v1/label/b_secret/values' },
  { name: 'metadata', where: ['all'], method: 'GET', path: '/api/v1/metadata' },
  { name: 'metadata of the shared metric', where: ['all'], method: 'GET', path: '/api/v1/metadata?metric=shared_metric' },
  {
    name: 'remote-read, streamed chunks',
    where: BOTH,
    method: 'POST',
    path: '/api/v1/read',
    body: () => readBody(RESPONSE_STREAMED_XOR_CHUNKS),
    decode: decodeChunks,
  },
  {
    name: 'remote-read, samples',
    where: BOTH,
    method: 'POST',
    path: '/api/v1/read',
    body: () => readBody(RESPONSE_SAMPLES),
    decode: decodeSamples,
  },
  { name: 'status/tsdb', where: ['all'], method: 'GET', path: '/api/v1/status/tsdb?limit=100' },
  { name: 'cardinality: label names', where: ['all'], method: 'GET', path: '/api/v1/cardinality/label_names' },
  {
    name: 'cardinality: label values',
    where: ['all'],
    method: 'GET',
    path: '/api/v1/cardinality/label_values?label_names[]=instance&label_names[]=__name__&label_names[]=job',
  },
  { name: 'status/stores (what a querier learns)', where: ['all'], method: 'GET', path: '/api/v1/status/stores' },
];

/** Endpoints that need a tenant but read no data (still refused without one). */
const OTHER_TENANT_ROUTES: { method: 'GET' | 'POST'; path: string; body?: () => Buffer; headers?: Record<string, string> }[] = [
  { method: 'POST', path: '/api/v1/write', body: () => writeBody(DATA[A]), headers: WRITE_HEADERS },
  { method: 'POST', path: '/api/v1/push', body: () => writeBody(DATA[A]), headers: WRITE_HEADERS },
  {
    method: 'POST',
    path: '/loki/api/v1/push',
    body: () => Buffer.from(JSON.stringify({ streams: [{ stream: { app: 'x' }, values: [[`${Date.now()}000000`, 'a line']] }] })),
    headers: { 'Content-Type': 'application/json' },
  },
  {
    method: 'POST',
    path: '/otlp/v1/metrics',
    body: () => Buffer.from('{"resourceMetrics":[]}'),
    headers: { 'Content-Type': 'application/json' },
  },
  { method: 'GET', path: `/api/v1/format_query?query=${q('up')}` },
  { method: 'GET', path: `/api/v1/parse_query?query=${q('up')}` },
];

let strata: Strata;
let querier: Strata;
let root: string;

const base = (where: 'all' | 'querier') => (where === 'all' ? strata.url : querier.url);

async function ask(row: Row, where: 'all' | 'querier', tenant: string | undefined): Promise<Reply> {
  const headers: Record<string, string> = tenant === undefined ? {} : { 'X-Scope-OrgID': tenant };
  let body: Buffer | string | undefined = row.body?.();
  if (row.form !== undefined) {
    body = row.form;
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  } else if (body) Object.assign(headers, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' });
  return request(base(where) + row.path, { method: row.method, headers, body });
}

/** Every row's answer to a tenant, as text. */
async function answers(tenant: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const row of ROWS) {
    for (const where of row.where) {
      const r = await ask(row, where, tenant);
      const text = r.status === 200 && row.decode ? row.decode(r.body) : r.body.toString('utf8');
      out[`${where}: ${row.name}`] = `${r.status} ${text}`;
    }
  }
  return out;
}

async function write(tenant: string): Promise<void> {
  const r = await request(`${strata.url}/api/v1/write`, {
    method: 'POST',
    headers: { ...WRITE_HEADERS, 'X-Scope-OrgID': tenant },
    body: writeBody(DATA[tenant]),
  });
  expect({ tenant, status: r.status, body: r.body.toString() }).toEqual({ tenant, status: 204, body: '' });
}

/**
 * Waits until the tenant's older blocks are in the bucket, none are kept locally, and its answers
 * stop changing (the store gateway has synced them); returns those answers.
 */
async function settled(tenant: string): Promise<Record<string, string>> {
  const bucket = path.join(strata.dataDir, 'bucket', tenant);
  await waitForShippedBlocks(bucket, 2);
  let last = await answers(tenant);
  return waitFor(
    `${tenant}'s answers stable`,
    async () => {
      await new Promise((r) => setTimeout(r, 2500));
      const now = await answers(tenant);
      const same = JSON.stringify(now) === JSON.stringify(last);
      last = now;
      return same && now;
    },
    60_000,
    0,
  );
}

let aBefore: Record<string, string>;
let aAfter: Record<string, string>;
let bAnswers: Record<string, string>;

beforeAll(async () => {
  root = tempDir('tenants');
  strata = await startStrata({ dataDir: path.join(root, 'data'), args: ARGS });
  querier = await startStrata({
    component: 'querier',
    dataDir: path.join(root, 'querier'),
    args: ['--auth.multitenancy-enabled', `--querier.stores=${strata.url}`],
  });
  await write(A);
  aBefore = await settled(A);
  await write(B);
  bAnswers = await settled(B);
  aAfter = await answers(A);
});

afterAll(async () => {
  if (querier) await stop(querier);
  if (strata) await stop(strata);
});

const rowKeys = ROWS.flatMap((r) => r.where.map((w) => ({ key: `${w}: ${r.name}` })));

describe.each(rowKeys)('$key', ({ key }) => {
  test("A's answer is byte-identical before and after B wrote, and names nothing of B's", () => {
    expect(aAfter[key]).toBe(aBefore[key]);
    expect(aAfter[key]).toMatch(/^200 /);
    for (const m of B_MARKERS) expect({ key, leaked: aAfter[key].includes(m) ? m : undefined }).toEqual({ key, leaked: undefined });
  });
});

test("the rows see data: B's answers show B's series, values and counts, A's show A's", () => {
  const b = bAnswers;
  const a = aAfter;
  const count = (s: string) => JSON.parse(s.slice(4)).data.result[0].value[1];
  expect(count(a['all: query: count of everything'])).toBe(String(DATA[A].series.length));
  expect(count(b['all: query: count of everything'])).toBe(String(DATA[B].series.length));
  expect(count(b['querier: query: count of everything'])).toBe(String(DATA[B].series.length));
  expect(count(a['all: query: sum of the shared series (POST form)'])).toBe('2');
  expect(count(b['all: query: sum of the shared series (POST form)'])).toBe(String(5 * DATA[B].value));
  expect(JSON.parse(a['all: query: absent() of a B-only metric'].slice(4)).data.result).toHaveLength(1);
  expect(JSON.parse(b['all: query: absent() of a B-only metric'].slice(4)).data.result).toHaveLength(0);
  // The last 10 min window holds 10 samples of each of A's two shared series; the range spans bucket and head.
  const perJob = JSON.parse(a['querier: query_range: samples over 3 h (bucket and head)'].slice(4)).data.result;
  expect(perJob.map((s: { metric: { job: string } }) => s.metric.job).sort()).toEqual(['a-job', 'shared']);
  const shared = perJob.find((s: { metric: { job: string } }) => s.metric.job === 'shared');
  expect(shared.values[0]).toEqual([START / 1000, '2']);
  expect(shared.values.at(-1)).toEqual([END / 1000, '20']);
  expect(shared.values).toHaveLength((END - START) / 600_000 + 1);
  // Every row tells the tenants apart, except the one whose answer is the same for both by design.
  for (const key of Object.keys(b)) {
    const sameByDesign = key.endsWith('labels of the shared job');
    expect({ key, differs: b[key] !== a[key] }).toEqual({ key, differs: !sameByDesign });
  }
  expect(JSON.parse(a['all: status/tsdb'].slice(4)).data.headStats.numSeries).toBe(DATA[A].series.length);
  expect(JSON.parse(b['all: status/tsdb'].slice(4)).data.headStats.numSeries).toBe(DATA[B].series.length);
  expect(JSON.parse(a['all: cardinality: label values'].slice(4)).series_count_total).toBe(DATA[A].series.length);
  expect(Object.keys(JSON.parse(a['all: status/stores (what a querier learns)'].slice(4)).data)).toEqual([A]);
});

const MALFORMED: [string, string][] = [
  ['.', 'current directory'],
  ['..', 'parent directory'],
  ['../tenant-b', 'parent path to another tenant'],
  ['a/b', 'slash'],
  ['a\\b', 'backslash'],
  ['..%2F..%2Fetc', 'percent-encoded slashes'],
  ['%2e%2e', 'percent-encoded dots'],
  [Buffer.from('\uff0e\uff0e\uff0fx', 'utf8').toString('latin1'), 'fullwidth dots and slash, as UTF-8 bytes'],
  [Buffer.from('a\u2215b', 'utf8').toString('latin1'), 'division slash look-alike, as UTF-8 bytes'],
  ['tenant a', 'space'],
  ['x'.repeat(151), 'longer than 150'],
  ['__mimir_cluster', 'reserved'],
];

const AUTH_ROUTES: { name: string; row: Row; headers?: Record<string, string> }[] = [
  ...ROWS.filter((r, i) => ROWS.findIndex((x) => x.path.split('?')[0] === r.path.split('?')[0]) === i).map((r) => ({
    name: `${r.method} ${r.path.split('?')[0]}`,
    row: r,
  })),
  ...OTHER_TENANT_ROUTES.map((o) => ({
    name: `${o.method} ${o.path.split('?')[0]}`,
    row: { name: o.path, where: ['all'], method: o.method, path: o.path, body: o.body } as Row,
    headers: o.headers,
  })),
];

describe.each(AUTH_ROUTES)('$name', ({ row, headers }) => {
  const call = (tenant: string | undefined) =>
    headers
      ? request(strata.url + row.path, {
          method: row.method,
          headers: { ...headers, ...(tenant === undefined ? {} : { 'X-Scope-OrgID': tenant }) },
          body: row.body?.(),
        })
      : ask(row, 'all', tenant);

  test('without a tenant: 401 err-strata-missing-tenant', async () => {
    const r = await call(undefined);
    expect({ status: r.status, body: r.body.toString() }).toEqual({
      status: 401,
      body: expect.stringMatching(/no tenant ID in the X-Scope-OrgID header/),
    });
  });

  test.each(MALFORMED)('tenant %j (%s): 400 invalid tenant', async (tenant) => {
    const r = await call(tenant);
    // The JSON APIs carry the message (errorType bad_data), the write path the message and its ID.
    expect({ status: r.status, body: r.body.toString() }).toEqual({
      status: 400,
      body: expect.stringMatching(
        row.method === 'POST' && headers
          ? /tenant ID .* is invalid: .*\(err-strata-invalid-tenant\)/
          : /"errorType":"bad_data","error":"tenant ID .* is invalid/,
      ),
    });
  });
});

test('two tenant headers or a NUL byte in one are refused, on the raw wire', async () => {
  // The NUL case is refused by Node's header parser, which answers and closes at once: a body
  // still in flight then resets the connection before the answer can be read, so it sends none.
  const raw = (headerLines: string, withBody = true) =>
    new Promise<string>((resolve, reject) => {
      const body = withBody ? writeBody(DATA[A]) : Buffer.alloc(0);
      const sock = net.connect(strata.port, '127.0.0.1', () => {
        sock.write(
          `POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n${headerLines}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
          'latin1',
        );
        sock.end(body);
      });
      let out = '';
      sock.on('data', (c) => (out += c.toString('latin1')));
      sock.on('end', () => resolve(out));
      // A reset after the answer arrived still carries the answer.
      sock.on('error', (e) => (out ? resolve(out) : reject(e)));
    });
  expect(await raw(`X-Scope-OrgID: ${A}\r\nX-Scope-OrgID: ${B}\r\n`)).toMatch(/^HTTP\/1\.1 400[\s\S]*err-strata-invalid-tenant/);
  expect(await raw('X-Scope-OrgID: ..\u0000/x\r\n', false)).toMatch(/^HTTP\/1\.1 400/);
});

test('no tenant ID created anything outside its folder: only A and B in the WAL directories and the bucket', () => {
  // The malformed writes above ran before this test (jest runs a file's tests in order).
  for (const entry of fs.readdirSync(root)) expect(['data', 'querier']).toContain(entry);
  expect(fs.readdirSync(path.join(strata.dataDir, 'tsdb', 'tenants')).sort()).toEqual([A, B]);
  expect(fs.readdirSync(path.join(strata.dataDir, 'bucket')).sort()).toEqual([A, B]);
  expect(fs.readdirSync(strata.dataDir).sort()).toEqual(['bucket', 'logs', 'store-gateway', 'tsdb']);
  // Log pushes with those IDs were refused too: the log store holds no folder of theirs.
  for (const t of fs.readdirSync(path.join(strata.dataDir, 'logs'))) expect([A, B]).toContain(t);
});
