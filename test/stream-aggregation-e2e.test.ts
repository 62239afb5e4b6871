/**
 * Streaming aggregation across real receiver processes: four receivers in an RF 3 ring with a
 * rule in the limits file, a client writing counters (with resets) once a second in real time,
 * every request sent twice through different receivers. Partials travel between receivers over
 * their signed write endpoint; the outputs, read through a querier over every receiver, equal
 * PromQL over the raw counters, and no receiver counted a partial or a sample as late.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { freePort, getJson, startStrata, stop, tempDir, type Strata } from './harness.js';

jest.setTimeout(300_000);

const INTERVAL_S = 5;
const receivers: Strata[] = [];
let querier: Strata | undefined;

afterAll(async () => {
  await Promise.all([...receivers, ...(querier ? [querier] : [])].map((p) => stop(p)));
});

function body(t: number, k: number): Buffer {
  const series = [];
  for (const job of ['a', 'b']) {
    for (let i = 0; i < 4; i++) {
      const period = 7 + i * 3 + (job === 'a' ? 0 : 2);
      // The same counter twice: stored, and aggregated with drop_input.
      for (const name of ['e2e_requests_total', 'e2e_dropped_total'])
        series.push({
          labels: Labels.fromObject({ __name__: name, job, instance: `i${i}` }),
          timestamps: [t],
          values: [((k % period) + 1) * (i + 1)],
        });
    }
  }
  return snappyEncode(encodeWriteRequestV1(series));
}

async function write(to: Strata, b: Buffer): Promise<number> {
  const r = await fetch(`${to.url}/api/v1/write`, {
    method: 'POST',
    body: b,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
    signal: AbortSignal.timeout(10_000),
  });
  return r.status;
}

async function query(expr: string, t: number): Promise<Map<string, number>> {
  const r = await getJson(`${querier!.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${t / 1000}`);
  expect(r.status).toBe('success');
  return new Map(
    r.data.result.map((s: { metric: Record<string, string>; value: [number, string] }) => [s.metric.job ?? '', Number(s.value[1])]),
  );
}

async function counter(p: Strata, name: string, outcome: string): Promise<number> {
  const text = await (await fetch(`${p.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{outcome="${outcome}"}`));
  return line ? Number(line.split(' ')[1]) : 0;
}

test('outputs over a 4-receiver RF 3 ring equal PromQL over the raw counters, retries counted once', async () => {
  const dir = tempDir('saggr-e2e');
  const ringFile = path.join(dir, 'hashrings.json');
  const limitsFile = path.join(dir, 'limits.yaml');
  fs.writeFileSync(
    limitsFile,
    [
      'overrides:',
      '  anonymous:',
      '    stream_aggregation_config:',
      `      - match: e2e_requests_total`,
      `        interval: ${INTERVAL_S}s`,
      '        without: [instance]',
      '        outputs: [total, increase, count_samples]',
      '      - match: e2e_dropped_total',
      `        interval: ${INTERVAL_S}s`,
      '        without: [instance]',
      '        outputs: [total]',
      '        drop_input: true',
      '',
    ].join('\n'),
  );
  const ports = await Promise.all([0, 1, 2, 3].map(() => freePort()));
  fs.writeFileSync(ringFile, JSON.stringify([{ hashring: 'default', endpoints: ports.map((p) => `127.0.0.1:${p}`) }]));
  receivers.push(
    ...(await Promise.all(
      ports.map((port) =>
        startStrata({
          component: 'receiver',
          port,
          args: [
            `--receiver.hashrings-file=${ringFile}`,
            '--receiver.replication-factor=3',
            `--receiver.local-endpoint=127.0.0.1:${port}`,
            `--limits.file=${limitsFile}`,
            '--receiver.stream-aggregation-flush-delay=4s',
          ],
        }),
      ),
    )),
  );
  querier = await startStrata({
    component: 'querier',
    args: [`--querier.stores=${ports.map((p) => `http://127.0.0.1:${p}`).join(',')}`],
  });

  // Once a second, on the second: every request twice, through two receivers.
  const first = Math.ceil(Date.now() / 1000) * 1000 + 1000;
  const seconds = 6 * INTERVAL_S;
  for (let k = 0; k < seconds; k++) {
    const t = first + k * 1000;
    const wait = t - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const b = body(t, k);
    expect(await write(receivers[k % 4], b)).toBe(204);
    expect(await write(receivers[(k + 1) % 4], b)).toBe(204);
  }
  // The last interval is written two flush delays after its end (plus a tick).
  await new Promise((r) => setTimeout(r, 2 * 4000 + INTERVAL_S * 1000 + 3000));

  const iv = INTERVAL_S * 1000;
  const ends: number[] = [];
  for (let e = Math.ceil((first + 1) / iv) * iv; e <= first + (seconds - 1) * 1000; e += iv) ends.push(e);
  expect(ends.length).toBeGreaterThanOrEqual(4);
  const x = 'e2e_requests_total';
  const increases = (range: string) =>
    `sum without (instance) (sum_over_time((((${x} - ${x} offset 1s) >= 0) or (${x} and ${x} offset 1s))[${range}:1s]))`;
  for (const e of ends) {
    const since = `${(e - first) / 1000}s`;
    expect(await query(`last_over_time(${x}:${INTERVAL_S}s_without_instance_total[1ms])`, e)).toEqual(await query(increases(since), e));
    expect(await query(`last_over_time(${x}:${INTERVAL_S}s_without_instance_increase[1ms])`, e)).toEqual(
      await query(increases(`${INTERVAL_S}s`), e),
    );
    expect(await query(`last_over_time(${x}:${INTERVAL_S}s_without_instance_count_samples[1ms])`, e)).toEqual(
      await query(`sum without (instance) (count_over_time(${x}[${INTERVAL_S}s]))`, e),
    );
    expect(await query(`last_over_time(e2e_dropped_total:${INTERVAL_S}s_without_instance_total[1ms])`, e)).toEqual(
      await query(increases(since), e),
    );
  }
  expect((await query('count(e2e_dropped_total)', ends[ends.length - 1])).size).toBe(0);
  let sent = 0;
  let resent = 0;
  for (const p of receivers) {
    expect(await counter(p, 'strata_stream_aggregation_samples_total', 'late')).toBe(0);
    expect(await counter(p, 'strata_stream_aggregation_partials_total', 'late')).toBe(0);
    expect(await counter(p, 'strata_stream_aggregation_partials_total', 'send-failed')).toBe(0);
    sent += await counter(p, 'strata_stream_aggregation_partials_total', 'sent');
    resent += await counter(p, 'strata_stream_aggregation_samples_total', 'resent');
  }
  // Partials crossed the ring; retried samples of the dropped inputs (no head to refuse them)
  // reached their aggregating owners and were ignored there.
  expect(sent).toBeGreaterThan(0);
  expect(resent).toBeGreaterThan(0);
});
