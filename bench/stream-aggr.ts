/**
 * `npm run bench -- --stream-aggr`: what streaming aggregation costs at ingest, in one process.
 * The same requests go through two receivers' write paths in turn (so the machine's load weighs
 * on both alike): one without rules, one with five rules active (stream_aggregation_config),
 * its flushes and output writes included. Figures are this process' CPU time. Then the memory
 * of the aggregation state: heap after feeding the inputs of a rule into a fresh aggregator,
 * per output series and per input series.
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Registry } from 'prom-client';
import YAML from 'yaml';
import { Limits, type TenantLimits } from '@strata/api';
import { createStreamAggregation, MetadataStore, outputWriter, Writer, type StreamAggregation } from '@strata/receiver';
import { decodeWriteRequestV1, snappyDecode } from '@strata/remote';
import { TSDB } from '@strata/tsdb';
import { tempDir } from '../test/harness.js';
import { encodeRounds, generateSeries, SCRAPE_INTERVAL_MS, type Encoder } from './load.js';

const DEFAULTS: TenantLimits = {
  ingestionRate: 0,
  ingestionBurstSize: 0,
  maxGlobalSeriesPerUser: 0,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
};

/** Five rules over the benchmark's metrics: most series match one of them. */
const RULES = [
  { match: 'http_requests_total', interval: '1m', without: ['instance'], outputs: ['total', 'increase', 'count_series'] },
  { match: 'http_request_duration_seconds_bucket', interval: '1m', without: ['instance'], outputs: ['total'] },
  { match: 'node_cpu_seconds_total', interval: '1m', by: ['job', 'mode'], outputs: ['total', 'count_samples'] },
  { match: 'node_filesystem_avail_bytes', interval: '1m', without: ['instance'], outputs: ['min', 'max', 'avg', 'stddev'] },
  { match: '{__name__=~"process_.*"}', interval: '1m', by: ['job'], outputs: ['quantiles(0.5, 0.99)', 'max'] },
];

function limitsFile(rules: unknown[]): string {
  const dir = tempDir('bench-saggr-limits');
  const f = `${dir}/limits.yaml`;
  fs.writeFileSync(f, YAML.stringify({ overrides: { t: { stream_aggregation_config: rules } } }));
  return f;
}

const cpuMicros = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

async function openWriter(limits: Limits, clock: { now: number }, aggregation?: StreamAggregation) {
  const dir = tempDir('bench-saggr');
  const db = await TSDB.open({ dir, fsync: 'batch', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
  const writer = new Writer({
    storage: db,
    limits,
    metadata: new MetadataStore(),
    registry: new Registry(),
    creationGracePeriodMs: 3600_000,
    now: () => clock.now,
    streamAggregation: aggregation,
  });
  aggregation?.setOutputWriter(outputWriter(writer, undefined));
  return { writer, db, dir };
}

function gc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export async function runStreamAggrBench(seriesCount: number, roundsCount: number, encode: Encoder): Promise<string> {
  // On a minute boundary (plus a second), as the rules' intervals are: every run flushes at the
  // same scrapes (each interval holds four), so runs compare.
  const start = Math.floor((Date.now() - roundsCount * SCRAPE_INTERVAL_MS - 120_000) / 60_000) * 60_000 + 1000;
  const rounds = encodeRounds(generateSeries(seriesCount), roundsCount, start, encode);
  const clock = { now: start };
  const plain = await openWriter(new Limits({ defaults: DEFAULTS }), clock);
  const ruled = new Limits({ defaults: DEFAULTS, overridesFile: limitsFile(RULES), reloadIntervalMs: 3_600_000 });
  const aggregation = createStreamAggregation({ limits: ruled, flushDelayMs: 5000, now: () => clock.now, registry: new Registry() });
  const aggregating = await openWriter(ruled, clock, aggregation);
  const micros = new Float64Array(3);
  let samples = 0;
  // Once the output series exist (their creation is a one-time cost, as the inputs' is): [none, rules, samples].
  const steady = new Float64Array(4);
  let outputsExist = false;
  // CPU of the flushes that wrote outputs: the first creates the output series.
  const flushes: number[] = [];
  let writtenBefore = 0;
  for (let r = 0; r < rounds.length; r++) {
    // The first two scrapes create the series; the rest is the steady state measured.
    const measured = r >= Math.min(2, rounds.length - 1);
    clock.now = start + r * SCRAPE_INTERVAL_MS + 2000;
    for (const body of rounds[r].bodies) {
      const t0 = cpuMicros();
      await plain.writer.write('t', decodeWriteRequestV1(snappyDecode(body, 1 << 30)), false);
      const t1 = cpuMicros();
      await aggregating.writer.write('t', decodeWriteRequestV1(snappyDecode(body, 1 << 30)), false);
      const t2 = cpuMicros();
      if (measured) {
        micros[0] += t1 - t0;
        micros[1] += t2 - t1;
      }
      if (outputsExist) {
        steady[0] += t1 - t0;
        steady[1] += t2 - t1;
      }
    }
    // The flushes due by the next scrape, outputs written, on the aggregating side's bill.
    const t0 = cpuMicros();
    clock.now += 10_000;
    await aggregation.tick();
    if (measured) {
      const dt = cpuMicros() - t0;
      micros[1] += dt;
      micros[2] += dt;
    }
    if (measured) samples += rounds[r].samples;
    if (outputsExist) {
      const dt = cpuMicros() - t0;
      steady[1] += dt;
      steady[3] += dt;
      steady[2] += rounds[r].samples;
    }
    const tickMicros = cpuMicros() - t0;
    const written = await aggregation.opts.registry!.getSingleMetric('strata_stream_aggregation_output_samples_total')!.get();
    const writtenNow = written.values[0]?.value ?? 0;
    if (writtenNow > writtenBefore) flushes.push(tickMicros);
    writtenBefore = writtenNow;
    outputsExist ||= measured && writtenNow > 0;
  }
  const counted = await aggregation.opts.registry!.getSingleMetric('strata_stream_aggregation_output_samples_total')!.get();
  const outputs = counted.values[0]?.value ?? 0;
  for (const w of [plain, aggregating]) {
    await w.db.close();
    fs.rmSync(w.dir, { recursive: true, force: true });
  }
  ruled.stop();

  // Memory: one rule (without instance, every output but quantiles and buckets) over every series.
  const memRule = [
    {
      match: '{__name__=~".+"}',
      interval: '1m',
      without: ['instance'],
      outputs: ['total', 'increase', 'count_series', 'count_samples', 'sum_samples', 'last', 'min', 'max', 'avg', 'stddev'],
    },
  ];
  const memLimits = new Limits({ defaults: DEFAULTS, overridesFile: limitsFile(memRule), reloadIntervalMs: 3_600_000 });
  const collect = gc();
  const series = generateSeries(seriesCount);
  collect();
  const before = process.memoryUsage().heapUsed;
  const memAggr = createStreamAggregation({ limits: memLimits, flushDelayMs: 5000, now: () => start });
  const tenant = memAggr.forTenant('t')!;
  const inputs = series.map((l, i) => {
    const input = tenant.classify(l)!;
    tenant.rememberRef(i + 1, input);
    tenant.feed(input, start, i, start);
    return input;
  });
  collect();
  const heap = process.memoryUsage().heapUsed - before;
  const groups = memAggr.groupCounts().inputs;
  const outputSeries = groups * memRule[0].outputs.length;
  if (inputs.length !== seriesCount) throw new Error('not every series classified');
  memLimits.stop();

  const ratio = micros[1] / micros[0];
  return [
    `## Streaming aggregation at ingest, in-process: ${seriesCount} series x ${roundsCount} scrapes (steady state: ${samples} samples), 5 rules, ${outputs} output samples`,
    '',
    '| path | CPU µs per sample | x none |',
    '|---|---|---|',
    `| no rules | ${(micros[0] / samples).toFixed(3)} | 1.000 |`,
    `| 5 rules (flushes and output writes included) | ${(micros[1] / samples).toFixed(3)} | ${ratio.toFixed(3)} |`,
    `| of which flushes and output writes | ${(micros[2] / samples).toFixed(3)} | ${(micros[2] / micros[0]).toFixed(3)} |`,
    `| no rules, once the output series exist (${steady[2]} samples) | ${(steady[0] / steady[2]).toFixed(3)} | 1.000 |`,
    `| 5 rules, once the output series exist | ${(steady[1] / steady[2]).toFixed(3)} | ${(steady[1] / steady[0]).toFixed(3)} |`,
    `| of which flushes and output writes | ${(steady[3] / steady[2]).toFixed(3)} | ${(steady[3] / steady[0]).toFixed(3)} |`,
    '',
    `Flushes that wrote outputs, CPU ms each (the first creates the output series): ${flushes.map((m) => (m / 1000).toFixed(1)).join(', ')}`,
    '',
    `Aggregation state, one rule without instance (10 outputs) over ${seriesCount} input series: ${groups} groups, ${outputSeries} output series, ` +
      `${(heap / 1024 / 1024).toFixed(1)} MiB heap: ${(heap / outputSeries).toFixed(0)} B per output series, ${(heap / seriesCount).toFixed(0)} B per input series (an interval in progress)`,
  ].join('\n');
}
