/**
 * `npm run bench -- --series-limits [--max-series N] [--steps S] [--sample 200000] [--no-reference]`:
 * do the series-limit checks stay flat as a receiver's series grow?
 *
 * One receiver of a simulated 4-receiver ring at replication factor 3 (it holds 3/4 of the tenant's
 * series, so the global limits are shared out by 0.75 as the ring does) grows to N active series
 * in S steps. Every limit that is checked when a series is created is on:
 * `max_global_series_per_user`, `max_global_series_per_metric` and
 * `max_label_value_cardinality_per_metric`, each set above what the data reaches, so every check
 * runs and none refuses. A reference receiver with no limits gets the same requests, interleaved
 * request by request so the machine's load weighs on both alike.
 *
 * Measured after each step, as this process's CPU time (process.cpuUsage) of decoding and writing:
 * - per created series, over the step's new series;
 * - per sample of a steady scrape of `--sample` series spread over all series held so far (the
 *   path of every scrape after the first, where a limit check must cost nothing).
 * Flat means the last step's figures are about the first's; the ratio is printed.
 *
 * Series are made on the fly from their number (100 metric names, an instance label and a
 * per-metric label), so the bench itself holds no label sets: the memory is the heads'.
 */
import { Registry } from 'prom-client';
import { Labels } from '@strata/model';
import { Limits, type TenantLimits } from '@strata/api';
import { MetadataStore, Writer } from '@strata/receiver';
import { decodeWriteRequestV1, encodeWriteRequestV1, snappyDecode, snappyEncode, type SeriesToWrite } from '@strata/remote';
import { TSDB } from '@strata/tsdb';
import { tempDir } from '../test/harness.js';

const METRICS = 100;
const SHARE = 3 / 4;
const BATCH = 5000;
const SCRAPE_MS = 15_000;

const BASE: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
};

function labelsOf(i: number): Labels {
  const metric = i % METRICS;
  const instance = Math.floor(i / METRICS);
  return Labels.fromObject({
    __name__: `app_metric_${metric}_total`,
    job: `job-${instance % 20}`,
    instance: `10.${(instance >> 16) & 255}.${(instance >> 8) & 255}.${instance & 255}:9100`,
    code: String(200 + (i % 7)),
  });
}

function body(first: number, count: number, pick: (k: number) => number, t: number): Buffer {
  const series: SeriesToWrite[] = [];
  for (let k = 0; k < count; k++) {
    const i = pick(first + k);
    series.push({ labels: labelsOf(i), timestamps: [t], values: [i] });
  }
  return snappyEncode(encodeWriteRequestV1(series));
}

interface Receiver {
  name: string;
  writer: Writer;
  db: TSDB;
  createdMicros: number;
  steadyMicros: number;
}

async function receiver(name: string, limited: boolean, maxSeries: number): Promise<Receiver> {
  const db = await TSDB.open({ dir: tempDir('bench-series-limits'), fsync: 'none', head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
  // Above what the data reaches (the global figure is what the whole ring may hold).
  const defaults: TenantLimits = limited
    ? {
        ...BASE,
        maxGlobalSeriesPerUser: 2 * Math.ceil(maxSeries / SHARE),
        maxGlobalSeriesPerMetric: 2 * Math.ceil(maxSeries / SHARE / METRICS),
        maxLabelValueCardinalityPerMetric: 2 * Math.ceil(maxSeries / METRICS),
      }
    : BASE;
  const writer = new Writer({
    storage: db,
    limits: new Limits({ defaults }),
    metadata: new MetadataStore(),
    registry: new Registry(),
    creationGracePeriodMs: 3600_000,
    seriesLimitShare: limited ? () => SHARE : undefined,
  });
  return { name, writer, db, createdMicros: 0, steadyMicros: 0 };
}

const cpuMicros = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

async function send(r: Receiver, b: Buffer, into: 'createdMicros' | 'steadyMicros'): Promise<void> {
  const t0 = cpuMicros();
  const res = await r.writer.write('t', decodeWriteRequestV1(snappyDecode(b, 1 << 30)), false);
  r[into] += cpuMicros() - t0;
  if (res.firstError) throw res.firstError;
}

export async function runSeriesLimitsBench(maxSeries: number, steps: number, sample: number, reference: boolean): Promise<string> {
  const receivers = [await receiver('limits on', true, maxSeries)];
  if (reference) receivers.push(await receiver('no limits', false, maxSeries));
  const perStep = Math.ceil(maxSeries / steps);
  const t0 = Date.now() - (2 * steps + 2) * SCRAPE_MS;
  const rows: string[] = [];
  const firstOf = new Map<string, [number, number]>();
  const lastOf = new Map<string, [number, number]>();
  let held = 0;
  for (let step = 0; step < steps; step++) {
    const t = t0 + 2 * step * SCRAPE_MS;
    for (const r of receivers) r.createdMicros = r.steadyMicros = 0;
    const created = Math.min(perStep, maxSeries - held);
    for (let k = 0; k < created; k += BATCH) {
      const b = body(held + k, Math.min(BATCH, created - k), (i) => i, t);
      // Alternate which receiver goes first: neither always meets a warmer cache.
      for (let n = 0; n < receivers.length; n++) await send(receivers[(k / BATCH + n) % receivers.length], b, 'createdMicros');
    }
    held += created;
    // A steady scrape of `sample` series spread evenly over all held (a stride prime to the count).
    const n = Math.min(sample, held);
    const stride = Math.max(1, Math.floor(held / n)) | 1;
    for (let k = 0; k < n; k += BATCH) {
      const b = body(k, Math.min(BATCH, n - k), (j) => (j * stride) % held, t + SCRAPE_MS);
      for (let m = 0; m < receivers.length; m++) await send(receivers[(k / BATCH + m) % receivers.length], b, 'steadyMicros');
    }
    const cells = receivers.map((r) => {
      const perCreated = (r.createdMicros / created) * 1000;
      const perSample = (r.steadyMicros / n) * 1000;
      if (!firstOf.has(r.name)) firstOf.set(r.name, [perCreated, perSample]);
      lastOf.set(r.name, [perCreated, perSample]);
      return `${perCreated.toFixed(0).padStart(7)} | ${perSample.toFixed(0).padStart(6)}`;
    });
    rows.push(
      `| ${held.toLocaleString('en-US').padStart(11)} | ${cells.join(' | ')} | ${(process.memoryUsage().rss / 2 ** 30).toFixed(1)} |`,
    );
    // Long runs: each step is reported as it ends (the table follows at the end).
    process.stderr.write(`${rows[rows.length - 1]}\n`);
  }
  for (const r of receivers) await r.db.close();
  const head = receivers.map((r) => `${r.name}: ns per created series | ns per steady sample`).join(' | ');
  const flat = receivers.map((r) => {
    const [c0, s0] = firstOf.get(r.name)!;
    const [c1, s1] = lastOf.get(r.name)!;
    return `${r.name}: created ${(c1 / c0).toFixed(2)}x, steady ${(s1 / s0).toFixed(2)}x`;
  });
  return [
    `# Series-limit checks as series grow: one receiver of a 4-receiver RF 3 ring (share ${SHARE}), up to ${maxSeries.toLocaleString('en-US')} series in ${steps} steps, steady scrape of ${sample.toLocaleString('en-US')} series`,
    '',
    `| series held | ${head} | RSS GiB |`,
    `|---|${receivers.map(() => '---|---').join('|')}|---|`,
    ...rows,
    '',
    `Last step against the first: ${flat.join('; ')}`,
  ].join('\n');
}
