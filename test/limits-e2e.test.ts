/**
 * The `strata receiver` binary with a limits file: relabel rules and per-metric limits from the
 * file apply to remote writes, /api/v1/status/limits and /api/v1/user_limits show the tenant's
 * effective limits, and a bad edit is refused whole with its position while the limits stay.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { getJson, startStrata, stop, tempDir, waitFor, type Strata } from './harness.js';

jest.setTimeout(120_000);

const H = { 'X-Scope-OrgID': 'team-a' };
let strata: Strata;
let file: string;

beforeAll(async () => {
  file = path.join(tempDir('limits'), 'limits.yaml');
  fs.writeFileSync(
    file,
    [
      'overrides:',
      '  team-a:',
      '    max_label_value_cardinality_per_metric: 3',
      '    metric_relabel_configs:',
      '      - source_labels: [__name__]',
      '        regex: debug_.*',
      '        action: drop',
      '',
    ].join('\n'),
  );
  strata = await startStrata({ component: 'receiver', args: [`--limits.file=${file}`, '--auth.multitenancy-enabled'] });
});

afterAll(async () => {
  if (strata) await stop(strata);
});

async function write(series: Record<string, string>[]): Promise<{ status: number; body: string }> {
  const body = snappyEncode(
    encodeWriteRequestV1(series.map((o) => ({ labels: Labels.fromObject(o), timestamps: [Date.now() - 1000], values: [1] }))),
  );
  const r = await fetch(`${strata.url}/api/v1/write`, {
    method: 'POST',
    headers: { ...H, 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
    body,
  });
  return { status: r.status, body: await r.text() };
}

test('relabel rules and the value-cardinality limit from the file apply; the effective limits are shown', async () => {
  expect((await write([{ __name__: 'debug_x', a: '1' }])).status).toBe(204);
  const r = await write(['1', '2', '3', '4'].map((u) => ({ __name__: 'req', user_id: u })));
  expect(r.status).toBe(400);
  expect(r.body).toMatch(
    /label "user_id" of metric "req" already has 3 distinct values, the limit is 3.*user_id="4".*max_label_value_cardinality_per_metric/,
  );
  const metrics = await (await fetch(`${strata.url}/metrics`)).text();
  expect(metrics).toMatch(/strata_discarded_samples_total\{reason="relabel",tenant="team-a"\} 1/);
  expect(metrics).toMatch(/strata_discarded_samples_total\{reason="max-label-value-cardinality-per-metric",tenant="team-a"\} 1/);
  const status = await getJson(`${strata.url}/api/v1/status/limits`, H);
  expect(status.data).toMatchObject({
    tenant: 'team-a',
    limits: { max_label_value_cardinality_per_metric: 3, metric_relabel_configs: [{ action: 'drop', regex: 'debug_.*' }] },
    usage: { active_series: 3, largest_metric: { name: 'req', series: 3 } },
    file: { tenants: 1, loadedAt: expect.any(String) },
  });
  const user = await getJson(`${strata.url}/api/v1/user_limits`, H);
  expect(user.max_label_value_cardinality_per_metric).toBe(3);
});

test('a bad edit is refused whole, shown with its line and column; the previous limits stay', async () => {
  fs.writeFileSync(
    file,
    [
      'overrides:',
      '  team-a:',
      '    max_label_value_cardinality_per_metric: 100',
      '    metric_relabel_configs:',
      '      - action: explode',
      '',
    ].join('\n'),
  );
  const status = await waitFor(
    'the edit to be refused',
    async () => {
      const s = await getJson(`${strata.url}/api/v1/status/limits`, H);
      return s.data.file.lastError ? s : undefined;
    },
    30_000,
  );
  expect(status.data.file.lastError).toMatchObject({
    line: 5,
    column: 17,
    message: expect.stringMatching(/unknown relabel action "explode"/),
  });
  expect(status.data.limits.max_label_value_cardinality_per_metric).toBe(3);
  expect((await write([{ __name__: 'req', user_id: '5' }])).status).toBe(400);
});
