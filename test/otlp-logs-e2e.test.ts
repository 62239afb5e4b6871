/**
 * OTLP logs into a real `strata all` from the real OpenTelemetry JS SDK: its OTLP/HTTP logs
 * exporters (protobuf with gzip, and JSON) export records, which read back through Loki's
 * query_range as Loki maps OTLP: resource attributes of Loki's default list as stream labels
 * (service_name, service_namespace, k8s_pod_name), the others and the record's attributes and
 * severity as structured metadata (host_name, user_id, severity_text, detected_level), the body
 * as the line (a map body as JSON). Broken bodies are 400s that leave the server serving.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { REPO, startStrata, stop, tempDir, type Strata } from './harness.js';

jest.setTimeout(120_000);

let strata: Strata;
const run = String(Date.now());

beforeAll(async () => {
  strata = await startStrata({ args: ['--auth.multitenancy-enabled'] });
});

afterAll(async () => {
  if (strata) await stop(strata);
});

function exportWith(encoding: 'proto' | 'json', tenant: string, url = strata.url): Promise<{ code: number; error?: string }> {
  const child = spawn(process.execPath, [path.join(REPO, 'test/otlp/logs-client.mjs'), encoding, `${url}/otlp/v1/logs`, tenant, run], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) =>
    child.on('exit', () => {
      clearTimeout(kill);
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch {
        reject(new Error(`the logs client printed no result:\n${out}\n${err}`));
      }
    }),
  );
}

type Streams = { stream: Record<string, string>; values: [string, string][] }[];

async function query(tenant: string, q: string, url = strata.url): Promise<Streams> {
  const params = new URLSearchParams({ query: q, limit: '100', direction: 'forward' });
  const r = await fetch(`${url}/loki/api/v1/query_range?${params}`, { headers: { 'X-Scope-OrgID': tenant } });
  const body = (await r.json()) as { status: string; data: { result: Streams } };
  expect(body.status).toBe('success');
  return body.data.result;
}

const linesOf = (s: Streams) => s.flatMap((x) => x.values.map(([, l]) => l)).sort();

test.each(['proto', 'json'] as const)('the SDK exporter (%s) lands its records as Loki maps them', async (encoding) => {
  const tenant = `otlp-logs-${encoding}`;
  expect(await exportWith(encoding, tenant)).toEqual({ code: 0 });
  const sel = `{service_name="checkout", service_namespace="shop", k8s_pod_name="pod-${encoding}"}`;
  expect(linesOf(await query(tenant, sel))).toEqual(
    [`user logged in ${encoding}`, `payment failed ${encoding}`, '{"order":42,"items":["a","b"]}'].sort(),
  );
  // Structured metadata: the other resource attributes, the record's attributes and its severity.
  expect(linesOf(await query(tenant, `${sel} | host_name="node-a" | detected_level="error"`))).toEqual([`payment failed ${encoding}`]);
  const info = await query(tenant, `${sel} | user_id="u1"`);
  expect(linesOf(info)).toEqual([`user logged in ${encoding}`]);
  expect(info[0].stream).toMatchObject({ severity_text: 'INFO', severity_number: '9', scope_name: 'e2e', scope_version: '1.0.0', run });
});

test.each([
  ['protobuf garbage', 'application/x-protobuf', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f])],
  ['JSON of the wrong shape', 'application/json', Buffer.from('{"resourceLogs": 3}')],
  ['another media type', 'text/plain', Buffer.from('hello')],
])('%s is a 4xx and the server keeps serving', async (_, ctype, body) => {
  const r = await fetch(`${strata.url}/otlp/v1/logs`, { method: 'POST', body, headers: { 'Content-Type': ctype, 'X-Scope-OrgID': 'bad' } });
  expect(r.status).toBeGreaterThanOrEqual(400);
  expect(r.status).toBeLessThan(500);
  expect((await fetch(`${strata.url}/-/ready`)).status).toBe(200);
});

test("a tenant's otlp_config (Loki's key, in the limits file) changes which attributes are labels, metadata or dropped", async () => {
  const limits = path.join(tempDir('otlp-config'), 'limits.yaml');
  fs.writeFileSync(
    limits,
    [
      'overrides:',
      '  otlp-cfg:',
      '    otlp_config:',
      '      resource_attributes:',
      '        attributes_config:',
      '          - action: index_label',
      '            attributes: [host.name]',
      '          - action: drop',
      '            attributes: [k8s.pod.name]',
      '      log_attributes:',
      '        - action: drop',
      '          regex: user\\..*',
      '',
    ].join('\n'),
  );
  const configured = await startStrata({ args: ['--auth.multitenancy-enabled', `--limits.file=${limits}`] });
  try {
    expect(await exportWith('proto', 'otlp-cfg', configured.url)).toEqual({ code: 0 });
    const got = await query('otlp-cfg', '{service_name="checkout", host_name="node-a"}', configured.url);
    expect(linesOf(got)).toEqual(['user logged in proto', 'payment failed proto', '{"order":42,"items":["a","b"]}'].sort());
    for (const s of got) {
      expect(s.stream).toMatchObject({ service_name: 'checkout', service_namespace: 'shop', host_name: 'node-a' });
      expect(s.stream).not.toHaveProperty('k8s_pod_name');
      expect(s.stream).not.toHaveProperty('user_id');
    }
    // Another tenant of the same process keeps Loki's default mapping.
    expect(await exportWith('proto', 'otlp-default', configured.url)).toEqual({ code: 0 });
    const plain = await query('otlp-default', '{service_name="checkout", k8s_pod_name="pod-proto"} | user_id="u1"', configured.url);
    expect(linesOf(plain)).toEqual(['user logged in proto']);
  } finally {
    await stop(configured);
  }
});
