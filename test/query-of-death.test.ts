/**
 * A regex that freezes a backtracking engine, sent through every API that takes a user regex,
 * against a real `strata all`: each answers promptly and correctly, and the process keeps
 * acknowledging writes and answering /-/ready meanwhile.
 */
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { startStrata, stop, type Strata } from './harness.js';

jest.setTimeout(60_000);

const EVIL_VALUE = `${'a'.repeat(34)}!`;
let s: Strata;
const t0 = Date.now();

async function write(labels: Record<string, string>, t: number): Promise<number> {
  const body = snappyEncode(encodeWriteRequestV1([{ labels: Labels.fromObject(labels), timestamps: [t], values: [1] }]));
  const r = await fetch(`${s.url}/api/v1/write`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
  });
  return r.status;
}

beforeAll(async () => {
  s = await startStrata();
  expect(await write({ __name__: 'redos_test', v: EVIL_VALUE }, t0)).toBe(204);
  expect(await write({ __name__: 'redos_test', v: 'aaa' }, t0)).toBe(204);
});

afterAll(async () => {
  if (s) await stop(s);
});

const q = encodeURIComponent;
const time = () => (t0 / 1000).toFixed(3);
// Each path takes the regex `(a+)+` (or a relative) where a backtracking engine would hang.
const cases: [string, () => string, (body: any) => void][] = [
  [
    'instant query',
    () => `/api/v1/query?query=${q('redos_test{v=~"(a+)+"}')}&time=${time()}`,
    (b) => expect(b.data.result.map((r: any) => r.metric.v)).toEqual(['aaa']),
  ],
  [
    'negative matcher',
    () => `/api/v1/query?query=${q('redos_test{v!~"(a|a)+"}')}&time=${time()}`,
    (b) => expect(b.data.result.map((r: any) => r.metric.v)).toEqual([EVIL_VALUE]),
  ],
  [
    'range query',
    () => `/api/v1/query_range?query=${q('count(redos_test{v=~"(a|aa)+"})')}&start=${time()}&end=${time()}&step=15`,
    (b) => expect(b.data.result[0].values[0][1]).toBe('1'),
  ],
  [
    'label_replace',
    () => `/api/v1/query?query=${q('label_replace(redos_test, "x", "$1", "v", "((a+)+)")')}&time=${time()}`,
    (b) => expect(b.data.result.map((r: any) => r.metric.x ?? '').sort()).toEqual(['', 'aaa']),
  ],
  ['series API', () => `/api/v1/series?match[]=${q('{v=~"(a+)+"}')}`, (b) => expect(b.data.map((x: any) => x.v)).toEqual(['aaa'])],
  ['label values with match[]', () => `/api/v1/label/v/values?match[]=${q('redos_test{v=~"(a+)+b"}')}`, (b) => expect(b.data).toEqual([])],
];

test.each(cases)('%s answers at once and the process keeps serving', async (_name, path, check) => {
  const started = performance.now();
  const answer = fetch(`${s.url}${path()}`).then(async (r) => ({ status: r.status, body: await r.json() }));
  // While the query runs, writes are acknowledged and readiness answers.
  const [ready, written] = await Promise.all([
    fetch(`${s.url}/-/ready`).then((r) => r.status),
    write({ __name__: 'alive', n: String(Math.random()) }, Date.now()),
  ]);
  const a = await answer;
  expect([a.status, ready, written]).toEqual([200, 200, 204]);
  check(a.body);
  // A backtracking engine takes minutes on these; RE2 milliseconds.
  expect(performance.now() - started).toBeLessThan(5000);
});

test('an invalid regex is a 400 with RE2 error text, not a 500', async () => {
  const r = await fetch(`${s.url}/api/v1/query?query=${q('redos_test{v=~"(a"}')}`);
  const b = (await r.json()) as { errorType: string; error: string };
  expect([r.status, b.errorType]).toEqual([400, 'bad_data']);
  expect(b.error).toMatch(/error parsing regexp/);
});
