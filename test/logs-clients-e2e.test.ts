/**
 * Real Loki clients push to `strata all` and the lines are read back through Loki's
 * /loki/api/v1/query_range: pino-loki (JSON pushes) and winston-loki (snappy protobuf pushes).
 * The tenant's log_sampling keeps every stream but app="sampled-e2e", whose left-out lines the
 * query stats report.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { pinoLoki } from 'pino-loki';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { startStrata, stop, tempDir, waitFor, type Strata } from './harness.js';

jest.setTimeout(120_000);

const N = 50;
let strata: Strata;
beforeAll(async () => {
  const limits = path.join(tempDir('limits'), 'limits.yaml');
  fs.writeFileSync(
    limits,
    [
      'overrides:',
      '  anonymous:',
      '    log_sampling:',
      `      keep: [{ selector: '{app=~".+", app!="sampled-e2e"}' }]`,
      '      keep_ratio: 0.1',
      '',
    ].join('\n'),
  );
  strata = await startStrata({ args: [`--limits.file=${limits}`] });
});
afterAll(() => stop(strata));

interface Streams {
  data: { resultType: string; result: { stream: Record<string, string>; values: [string, string][] }[] };
}

async function readBack(selector: string, want: number): Promise<Streams['data']['result']> {
  const now = BigInt(Date.now()) * 1_000_000n;
  const q = new URLSearchParams({
    query: selector,
    start: String(now - 3_600_000_000_000n),
    end: String(now + 60_000_000_000n),
    limit: '1000',
    direction: 'forward',
  });
  return waitFor(`${want} lines of ${selector}`, async () => {
    const r = await fetch(`${strata.url}/loki/api/v1/query_range?${q}`);
    if (r.status !== 200) throw new Error(`query_range: ${r.status} ${await r.text()}`);
    const body = (await r.json()) as Streams;
    expect(body.data.resultType).toBe('streams');
    const n = body.data.result.reduce((k, s) => k + s.values.length, 0);
    return n >= want ? body.data.result : undefined;
  });
}

test('pino-loki: every line comes back, in order, with its labels and fields', async () => {
  const stream = pinoLoki({ host: strata.url, batching: false, labels: { app: 'pino-e2e' }, silenceErrors: false });
  const log = pino({ level: 'info' }, stream);
  for (let i = 0; i < N; i++) log.info({ i, user: `u${i % 3}` }, `message ${i}`);
  const result = await readBack('{app="pino-e2e"}', N);
  const values = result.flatMap((s) => s.values.map(([ts, line]) => ({ ts, line, labels: s.stream })));
  values.sort((a, b) => (BigInt(a.ts) < BigInt(b.ts) ? -1 : 1));
  expect(values.length).toBe(N);
  values.forEach((v, i) => {
    const o = JSON.parse(v.line) as { msg: string; i: number; user: string };
    expect([o.msg, o.i, o.user]).toEqual([`message ${i}`, i, `u${i % 3}`]);
    expect(v.labels.app).toBe('pino-e2e');
  });
  // A line filter through LogQL over the same data.
  const needle = await readBack('{app="pino-e2e"} |= "message 7"', 1);
  expect(needle.flatMap((s) => s.values.map((x) => (JSON.parse(x[1]) as { msg: string }).msg)).sort()).toEqual(['message 7']);
  stream.end();
});

// winston-loki's line is the message followed by the entry's other fields as JSON.
test('winston-loki (protobuf): every line comes back exactly', async () => {
  const transport = new LokiTransport({
    host: strata.url,
    labels: { app: 'winston-e2e' },
    json: false,
    batching: true,
    interval: 0.2,
    onConnectionError: (e: unknown) => console.error(e),
  });
  const log = winston.createLogger({ transports: [transport] });
  for (let i = 0; i < N; i++) log.info(`winston line ${i}`);
  const result = await readBack('{app="winston-e2e"}', N);
  const lines = result
    .flatMap((s) => s.values)
    .sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : BigInt(a[0]) > BigInt(b[0]) ? 1 : 0))
    .map((v) => v[1]);
  expect(new Set(lines)).toEqual(new Set(Array.from({ length: N }, (_, i) => `winston line ${i} {"level":"info"}`)));
  expect(lines.length).toBe(N);
  expect(result.every((s) => s.stream.app === 'winston-e2e')).toBe(true);
  transport.close?.();
});

test('lines sampling left out at ingest are reported in the query stats', async () => {
  const now = BigInt(Date.now()) * 1_000_000n;
  const lines = Array.from({ length: 200 }, (_, i) => `level=info i=${i}`);
  const r = await fetch(`${strata.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: { app: 'sampled-e2e' }, values: lines.map((l, i) => [String(now + BigInt(i)), l]) }] }),
  });
  expect(r.status).toBe(204);
  const q = new URLSearchParams({
    query: '{app="sampled-e2e"}',
    start: String(now - 60_000_000_000n),
    end: String(now + 60_000_000_000n),
    limit: '1000',
  });
  const body = (await (await fetch(`${strata.url}/loki/api/v1/query_range?${q}`)).json()) as Streams & {
    data: { stats: { strata: { sampledOutLines: number; sampledOutBytes: number } } };
  };
  const kept = body.data.result.flatMap((s) => s.values.map((v) => v[1]));
  const bytes = (ls: string[]) => ls.reduce((n, l) => n + Buffer.byteLength(l), 0);
  // 10% of 200 kept: far fewer than half.
  expect(kept.length).toBeLessThan(100);
  expect(body.data.stats.strata).toEqual({ sampledOutLines: 200 - kept.length, sampledOutBytes: bytes(lines) - bytes(kept) });
});
