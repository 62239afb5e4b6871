/**
 * OTLP metrics into a real `strata all` from the real OpenTelemetry JS SDK: its OTLP/HTTP
 * exporters (protobuf with gzip, and JSON) push counters, up-down counters, gauges and explicit
 * bucket histograms for two tenants; the series read back through /api/v1/query carry the names
 * and labels Prometheus 3's translator gives them and exactly the values recorded. Delta
 * temporality is refused with a clear error (the rest of a request lands), and broken bodies are
 * 400s that leave the server serving. PromQL's info() joins target_info's resource attributes back.
 */
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';
import { spawn } from 'node:child_process';
import { REPO, startStrata, stop, type Strata } from './harness.js';

jest.setTimeout(120_000);

interface ExportResult {
  export: number;
  code: number;
  error?: string;
}

interface Client {
  results: AsyncIterator<string>;
  /** Lets the client do its next export. */
  next(): void;
  stderr(): string;
  exited: Promise<number | null>;
}

/** The SDK client (otlp/sdk-client.mjs) running one scenario. */
function client(scenario: string, tenant: string): Client {
  const child = spawn(process.execPath, [path.join(REPO, 'test/otlp/sdk-client.mjs'), scenario, `${strata.url}/otlp/v1/metrics`, tenant], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  // Bounded: a client that hangs is killed, and the test fails on its missing answer.
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void exited.then(() => clearTimeout(kill));
  const results = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return { results, next: () => child.stdin.write('\n'), stderr: () => err, exited };
}

async function nextExport(c: Client): Promise<ExportResult> {
  const r = await c.results.next();
  if (r.done) throw new Error(`the SDK client ended without exporting:\n${c.stderr()}`);
  return JSON.parse(r.value) as ExportResult;
}

let strata: Strata;

beforeAll(async () => {
  strata = await startStrata({ args: ['--auth.multitenancy-enabled', '--otlp.promote-resource-attributes=deployment.environment'] });
});

afterAll(async () => {
  if (strata) await stop(strata);
});

type Vector = { metric: Record<string, string>; value: [number, string] }[];

async function query(tenant: string, q: string): Promise<Vector> {
  const r = await fetch(`${strata.url}/api/v1/query?query=${encodeURIComponent(q)}`, { headers: { 'X-Scope-OrgID': tenant } });
  const body = (await r.json()) as { status: string; data: { result: Vector } };
  expect(body.status).toBe('success');
  return body.data.result;
}

/** The query's series as "labels => value" lines, sorted, for one exact comparison. */
async function lines(tenant: string, q: string): Promise<string[]> {
  const v = await query(tenant, q);
  return v
    .map((s) => {
      const l = Object.entries(s.metric)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, val]) => `${k}=${val}`)
        .join(',');
      return `${l} => ${s.value[1]}`;
    })
    .sort();
}

test('protobuf + gzip: counters, up-down counters, gauges and histograms read back exactly, under their Prometheus names', async () => {
  const c = client('proto', 'team-a');
  expect(await nextExport(c)).toEqual({ export: 1, code: 0 });

  const common = 'deployment_environment=test,instance=pod-1,job=shop/checkout';
  expect(await lines('team-a', 'http_server_requests_total')).toEqual([
    `__name__=http_server_requests_total,${common.replace(',instance', ',http_method=GET,http_route=/a,instance')} => 5`,
    `__name__=http_server_requests_total,${common.replace(',instance', ',http_method=POST,http_route=/b,instance')} => 7`,
  ]);
  expect(await lines('team-a', 'net_io_bytes_total')).toEqual([`__name__=net_io_bytes_total,${common} => 1024`]);
  expect(await lines('team-a', 'queue_depth')).toEqual([`__name__=queue_depth,${common} => 3`]);
  expect(await lines('team-a', 'cpu_utilization_ratio')).toEqual([`__name__=cpu_utilization_ratio,cpu=0,${common} => 0.25`]);
  const h = `${common.replace(',instance', ',http_route=/a,instance')}`;
  expect(await lines('team-a', '{__name__=~"http_server_duration_milliseconds.*"}')).toEqual(
    [
      `__name__=http_server_duration_milliseconds_bucket,${withLe(h, '+Inf')} => 5`,
      `__name__=http_server_duration_milliseconds_bucket,${withLe(h, '10')} => 3`,
      `__name__=http_server_duration_milliseconds_bucket,${withLe(h, '5')} => 1`,
      `__name__=http_server_duration_milliseconds_bucket,${withLe(h, '50')} => 4`,
      `__name__=http_server_duration_milliseconds_count,${h} => 5`,
      `__name__=http_server_duration_milliseconds_sum,${h} => 135`,
    ].sort(),
  );
  // The resource's other attributes: target_info, with job and instance to join on.
  expect(await lines('team-a', 'target_info')).toEqual([
    '__name__=target_info,deployment_environment=test,host_name=node-a,instance=pod-1,job=shop/checkout => 1',
  ]);
  // info() joins them back onto any series of the resource; a data-label matcher no resource
  // attribute meets drops the series.
  expect(await lines('team-a', 'info(queue_depth)')).toEqual([
    '__name__=queue_depth,deployment_environment=test,host_name=node-a,instance=pod-1,job=shop/checkout => 3',
  ]);
  expect(await lines('team-a', 'sum by (host_name) (info(http_server_requests_total, {host_name=~"node-.*"}))')).toEqual([
    'host_name=node-a => 12',
  ]);
  expect(await query('team-a', 'info(queue_depth, {host_name="node-b"})')).toEqual([]);
  // The other tenant sees none of it.
  expect(await query('team-b', '{__name__=~".+"}')).toEqual([]);

  // A second export of the same cumulative streams moves the counters on.
  c.next();
  expect(await nextExport(c)).toEqual({ export: 2, code: 0 });
  expect(await lines('team-a', 'sum(http_server_requests_total)')).toEqual([' => 22']);
  expect(await c.exited).toBe(0);
});

/** Labels with an `le` pair inserted in name order (after job, which sorts before it). */
function withLe(labels: string, le: string): string {
  const parts = labels.split(',');
  parts.push(`le=${le}`);
  return parts.sort().join(',');
}

test('JSON: the OTLP/HTTP JSON exporter lands in its own tenant', async () => {
  const c = client('json', 'team-b');
  expect(await nextExport(c)).toEqual({ export: 1, code: 0 });
  expect(await lines('team-b', 'jobs_done_total')).toEqual(['__name__=jobs_done_total,job=billing,queue=q1 => 4']);
  expect(await lines('team-b', 'temperature_celsius')).toEqual(['__name__=temperature_celsius,job=billing => 21.5']);
  // Only service.name: no other resource attribute, so no target_info.
  expect(await query('team-b', 'target_info')).toEqual([]);
  expect(await c.exited).toBe(0);
});

test('delta temporality is refused with a clear error: 400 alone, partial success beside a gauge', async () => {
  const c = client('delta', 'team-c');
  const r = await nextExport(c);
  expect(r.code).toBe(1);
  expect(r.error).toMatch(/400|Bad Request/);
  expect(await c.exited).toBe(0);

  // The same by hand, next to a gauge: 200 with partial_success naming the metric and the fix.
  const body = {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'deltas' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'delta.requests',
                sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: `${Date.now()}000000`, asInt: '1' }] },
              },
              { name: 'up.ok', gauge: { dataPoints: [{ timeUnixNano: `${Date.now()}000000`, asDouble: 1 }] } },
            ],
          },
        ],
      },
    ],
  };
  const res = await fetch(`${strata.url}/otlp/v1/metrics`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'X-Scope-OrgID': 'team-c' },
    body: zlib.gzipSync(JSON.stringify(body)),
  });
  expect(res.status).toBe(200);
  const answer = (await res.json()) as { partialSuccess: { rejectedDataPoints: string; errorMessage: string } };
  expect(answer.partialSuccess.rejectedDataPoints).toBe('1');
  expect(answer.partialSuccess.errorMessage).toMatch(/"delta\.requests" has delta aggregation temporality; only cumulative/);
  expect(await lines('team-c', 'up_ok')).toEqual(['__name__=up_ok,job=deltas => 1']);
  expect(await query('team-c', '{__name__=~"delta.*"}')).toEqual([]);
});

test('broken bodies are 400 (or 415 for an unknown type), and the server keeps serving', async () => {
  const cases: [string, Record<string, string>, Buffer, number][] = [
    ['random protobuf', { 'Content-Type': 'application/x-protobuf' }, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]), 400],
    ['truncated JSON', { 'Content-Type': 'application/json' }, Buffer.from('{"resourceMetrics": [{'), 400],
    ['JSON of the wrong shape', { 'Content-Type': 'application/json' }, Buffer.from('{"resourceMetrics": {"a": 1}}'), 400],
    ['gzip that is not', { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' }, Buffer.from('not gzip'), 400],
    ['text', { 'Content-Type': 'text/plain' }, Buffer.from('up 1'), 415],
  ];
  for (const [what, headers, body, status] of cases) {
    const r = await fetch(`${strata.url}/otlp/v1/metrics`, { method: 'POST', headers: { ...headers, 'X-Scope-OrgID': 'team-d' }, body });
    expect([what, r.status]).toEqual([what, status]);
    await r.arrayBuffer();
  }
  const ready = await fetch(`${strata.url}/-/ready`);
  expect(ready.status).toBe(200);
});

test('OTLP exemplars are kept and served by query_exemplars, with trace_id and span_id', async () => {
  const ns = `${Date.now()}000000`;
  const body = {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'traced' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'orders',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: [
                    {
                      timeUnixNano: ns,
                      asInt: '3',
                      exemplars: [
                        {
                          timeUnixNano: ns,
                          asDouble: 1,
                          traceId: '5b8efff798038103d269b633813fc60c',
                          spanId: 'eee19b7ec3c1b174',
                          filteredAttributes: [{ key: 'user', value: { stringValue: 'u1' } }],
                        },
                      ],
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
    ],
  };
  const res = await fetch(`${strata.url}/otlp/v1/metrics`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': 'team-e' },
    body: JSON.stringify(body),
  });
  expect([res.status, await res.text()]).toEqual([200, '{}']);
  const r = await fetch(`${strata.url}/api/v1/query_exemplars?query=orders_total`, { headers: { 'X-Scope-OrgID': 'team-e' } });
  expect(await r.json()).toEqual({
    status: 'success',
    data: [
      {
        seriesLabels: { __name__: 'orders_total', job: 'traced' },
        exemplars: [
          {
            labels: { span_id: 'eee19b7ec3c1b174', trace_id: '5b8efff798038103d269b633813fc60c', user: 'u1' },
            value: '1',
            timestamp: Number(ns.slice(0, -6)) / 1000,
          },
        ],
      },
    ],
  });
});
