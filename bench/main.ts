/**
 * `npm run bench`: Strata measured against the peers in the same run (`--help` prints this list).
 *   --series N (100000)  --rounds N (8)  --concurrency N (8)  --only strata,prometheus,victoria-metrics
 *   --small-connections N (1000): the many-senders run, one request per sender per scrape
 *   --histogram-share F (0): that fraction of the ingest series sent as native histograms (Prometheus with native histograms on);
 *     only the ingest runs then   --ingest-only: stop after the ingest runs (a float reference for a histogram run)
 *   --histogram-query: histogram_quantile over classic buckets vs over native histograms of the same distributions,
 *     Strata and Prometheus (--query-hours 2, --repeats 5)
 *   --query-hours N (6): hours of data for the query benchmark (0 skips it)   --repeats N (5)
 *   --skip-ingest: only the query benchmark   --blocks-only: only the block benchmark
 *   --bucket-only: only the bucket query benchmark (--query-hours, --repeats)
 *   --ring-only: only the replicated-ingest benchmark (--series, --rounds, --repeats, --only single,independent,ring3,ring4,
 *     --connections 8: the client's concurrent requests over all receivers, as a Prometheus' queue shards or several senders send)
 *   --ring-inprocess: the ring's CPU per client sample in one process, without HTTP, single vs 3 and 4 receivers at RF 3 (--series, --rounds)
 *   --share-http: one receiver's CPU per stored sample for forwarded shares vs client requests, over HTTP (--series, --rounds, --repeats)
 *   --forwarding-only: in-process CPU of a replica's share, client body + selection vs share (--series, --rounds)
 *   --ack-latency: remote-write ack latency while heavy queries run (--series, --query-hours, --seconds; --scrape-seconds
 *     (15): sparser data for long ranges, e.g. --query-hours 24 --scrape-seconds 300; --stalls: the main thread's stalls
 *     per phase, measured inside the process)
 *   --query-workers: heavy range queries on 0, 1 and 2 query worker threads (--series, --query-hours, --repeats)
 *   --secure-only: only the plain-vs-mTLS+basic-auth write benchmark (--series, --rounds, --repeats)
 *   --xor: ns per sample of the XOR chunk decoders
 *   --sketches: accuracy and bytes of the rollups' quantile sketches, DDSketch against t-digest
 *   --dashboard: only the 24 h dashboard benchmark (--hours, --refreshes, --repeats, --only)
 *   --compactor-merge: vertical compaction of 3 replicas of a block (--merge-series 25000,100000)
 *   --compactor: compactor passes over 3 replicas × 13 × 2 h blocks, vertical then levels (--compactor-series 2000,8000),
 *     then the 30-day rollup query (below)
 *   --compactor-query: only the 30-day sum by (job) (rate([1h])) over 1 h rollups vs raw 2 h blocks
 *     (--rollup-series 300, --repeats 5 warm, --colds 5: cold runs, each source's interleaved with the others')
 *   --labels: only the label names/values and series benchmark over 50k series (--repeats, --only)
 *   --frontend: the dashboard refreshed with its range sliding, through the query frontend (cold, warm) and without its cache
 *   --sharded-query: one 7-day sum by (job) (rate(...[5m])) at 5m, cold: Strata sharded, unsharded, Prometheus
 *     (--days 7, --shards 2[,4...], --instances 10 per job, --repeats 5)
 *   --ruler: recording-rule evaluation cost against Prometheus (--rules, --series, --interval, --rounds, --only)
 *   --labels-inprocess: its two heaviest requests called in-process, for profiling (--repeats)
 *   --stream-aggr: ingest CPU per sample with 5 streaming aggregation rules vs none, and the state's memory (--series, --rounds)
 *   --wire-bytes-rss: resident memory of the head's copies of series' wire label bytes, kept vs not (--series 1000000, --repeats 2)
 *   --relabel-ingest: in-process ingest CPU per sample with 10 metric_relabel_configs rules vs none (--series, --rounds)
 *   --cardinality: error and cost of cluster-wide cardinality sketches over a 4-receiver RF 3 ring, and of growth tracking (--series)
 *   --logs: the logs benchmark: push, ingest CPU, memory per stream, stored bytes vs zstd -3, needle query vs zstdcat | grep
 *     (--logs-mb 200; the issue's figure is 2000, --logs-block-range 1m, --logs-concurrency 8)
 *   --logs-tail: CPU of live tails (/loki/api/v1/tail) in strata all against the same push without tails
 *     (--tails 10, --tail-rate 2000 lines/s, --seconds 20)
 *   --series-limits: CPU of the series-limit checks as one receiver of a 4-receiver RF 3 ring grows (--max-series 2000000, --steps 10,
 *     --sample 200000, --no-reference)
 */
import { runOtlpBench } from './otlp.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Labels } from '@strata/model';
import { REPO } from '../test/harness.js';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { formatIngest, runIngest } from './ingest.js';
import { SAMPLES_PER_REQUEST } from './load.js';
import { runQueryBench } from './query.js';
import { runBlockBench } from './blocks.js';
import { runBucketQueryBench } from './bucket-queries.js';
import { runRingBench } from './ring.js';
import { runForwardingBench } from './forwarding.js';
import { runRingInProcessBench } from './ring-inprocess.js';
import { runShareHttpBench } from './share-http.js';
import { runAckLatencyBench } from './ack-latency.js';
import { runQueryWorkersBench } from './query-workers.js';
import { runSecureIngestBench } from './secure-ingest.js';
import { runRelabelIngestBench } from './relabel-ingest.js';
import { runCardinalityBench } from './cardinality.js';
import { runDashboardBench } from './dashboard.js';
import { runFrontendBench } from './frontend.js';
import { runShardedQueryBench } from './sharded-query.js';
import { runXorBench } from './xor.js';
import { runCompactorMergeBench } from './compactor-merge.js';
import { runCompactorBench } from './compactor.js';
import { runRollupQueryBench } from './rollup-query.js';
import { runLabelsBench } from './labels.js';
import { runRulerBench } from './ruler.js';
import { runSketchBench } from './sketches.js';
import { runLabelsInProcessBench } from './labels-inprocess.js';
import { runStreamAggrBench } from './stream-aggr.js';
import { runWireBytesRssBench, wireBytesRssChild } from './wire-bytes-rss.js';
import { runSeriesLimitsBench } from './series-limits.js';
import { runLogsBench } from './logs.js';
import { runLogsTailBench } from './logs-tail.js';
import { runHistogramQueryBench } from './histogram-query.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const only = (() => {
  const i = process.argv.indexOf('--only');
  return i > 0 ? process.argv[i + 1].split(',') : undefined;
})();

const encode = (series: Labels[], t: number, values: Float64Array): Buffer =>
  snappyEncode(encodeWriteRequestV1(series.map((labels, i) => ({ labels, timestamps: [t], values: [values[i]] }))));

/** The options, as this file's opening comment lists them. */
function usage(): string {
  const text = fs.readFileSync(path.join(REPO, 'bench', 'main.ts'), 'utf8');
  const doc = text.slice(text.indexOf('/**') + 3, text.indexOf('*/'));
  return doc
    .split('\n')
    .map((l) => l.replace(/^ \* ?/, ''))
    .join('\n')
    .trim();
}

async function main(): Promise<void> {
  // Options are matched by name anywhere on the line, so an unknown one would run the default benchmark.
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  // The Strata processes measured run the compiled dist/: build it from the sources at hand.
  execFileSync(process.execPath, [path.join(REPO, 'scripts', 'build.mjs'), '--quiet'], { stdio: 'inherit' });
  const hours = arg('query-hours', 6);
  if (process.argv.includes('--logs-tail')) {
    await runLogsTailBench({ tails: arg('tails', 10), rate: arg('tail-rate', 2000), seconds: arg('seconds', 20) });
    return;
  }
  if (process.argv.includes('--logs')) {
    const i = process.argv.indexOf('--logs-block-range');
    await runLogsBench({
      mb: arg('logs-mb', 200),
      blockRange: i > 0 ? process.argv[i + 1] : '1m',
      concurrency: arg('logs-concurrency', 8),
    });
    return;
  }
  if (process.argv.includes('--ack-latency')) {
    process.stdout.write(
      (await runAckLatencyBench({
        series: arg('series', 100_000),
        hours: arg('query-hours', 1),
        scrapeSeconds: arg('scrape-seconds', 15),
        seconds: arg('seconds', 15),
        only,
        stalls: process.argv.includes('--stalls'),
      })) + '\n',
    );
    return;
  }
  const rollupQuery = () => runRollupQueryBench({ series: arg('rollup-series', 300), colds: arg('colds', 5), warms: arg('repeats', 5) });
  if (process.argv.includes('--compactor-query')) {
    process.stdout.write((await rollupQuery()) + '\n');
    return;
  }
  if (process.argv.includes('--compactor')) {
    const i = process.argv.indexOf('--compactor-series');
    const sizes = i > 0 ? process.argv[i + 1].split(',').map(Number) : [2_000, 8_000];
    process.stdout.write((await runCompactorBench(sizes)) + '\n\n');
    process.stdout.write((await rollupQuery()) + '\n');
    return;
  }
  if (process.argv.includes('--compactor-merge')) {
    const i = process.argv.indexOf('--merge-series');
    const sizes = i > 0 ? process.argv[i + 1].split(',').map(Number) : [25_000, 100_000];
    process.stdout.write((await runCompactorMergeBench(sizes)) + '\n');
    return;
  }
  if (process.argv.includes('--ruler')) {
    process.stdout.write(
      (await runRulerBench({
        rules: arg('rules', 10_000),
        series: arg('series', 20_000),
        intervalSeconds: arg('interval', 60),
        rounds: arg('rounds', 3),
        only,
      })) + '\n',
    );
    return;
  }
  if (process.argv.includes('--histogram-query')) {
    process.stdout.write((await runHistogramQueryBench(arg('query-hours', 2), arg('repeats', 5))) + '\n');
    return;
  }
  if (process.argv.includes('--sketches')) {
    process.stdout.write(runSketchBench(arg('series', 50)) + '\n');
    return;
  }
  if (process.argv.includes('--query-workers')) {
    process.stdout.write(
      (await runQueryWorkersBench({ series: arg('series', 30_000), hours: arg('query-hours', 6), rounds: arg('repeats', 5) })) + '\n',
    );
    return;
  }
  if (process.argv.includes('--otlp')) {
    process.stdout.write(runOtlpBench() + '\n');
    return;
  }
  if (process.argv.includes('--xor')) {
    process.stdout.write(runXorBench() + '\n');
    return;
  }
  if (process.argv.includes('--sharded-query')) {
    const i = process.argv.indexOf('--shards');
    const shards = i > 0 ? process.argv[i + 1].split(',').map(Number) : undefined;
    process.stdout.write(
      (await runShardedQueryBench({ days: arg('days', 7), repeats: arg('repeats', 5), shards, instances: arg('instances', 10), only })) +
        '\n',
    );
    return;
  }
  if (process.argv.includes('--frontend')) {
    process.stdout.write((await runFrontendBench({ hours: arg('hours', 24), refreshes: arg('refreshes', 10), only })) + '\n');
    return;
  }
  if (process.argv.includes('--dashboard')) {
    process.stdout.write(
      (await runDashboardBench({ hours: arg('hours', 24), refreshes: arg('refreshes', 5), repeats: arg('repeats', 5), only })) + '\n',
    );
    return;
  }
  if (process.argv.includes('--wire-bytes-rss-child')) {
    const mode = process.argv[process.argv.indexOf('--wire-bytes-rss-child') + 1];
    process.stdout.write((await wireBytesRssChild(mode === 'keep', arg('series', 1_000_000))) + '\n');
    return;
  }
  if (process.argv.includes('--wire-bytes-rss')) {
    process.stdout.write(runWireBytesRssBench(arg('series', 1_000_000), arg('repeats', 2)) + '\n');
    return;
  }
  if (process.argv.includes('--stream-aggr')) {
    process.stdout.write((await runStreamAggrBench(arg('series', 100_000), arg('rounds', 10), encode)) + '\n');
    return;
  }
  if (process.argv.includes('--labels-inprocess')) {
    process.stdout.write((await runLabelsInProcessBench(arg('repeats', 300))) + '\n');
    return;
  }
  if (process.argv.includes('--labels')) {
    process.stdout.write((await runLabelsBench({ repeats: arg('repeats', 30), only })) + '\n');
    return;
  }
  if (process.argv.includes('--ring-only')) {
    process.stdout.write(
      (await runRingBench(arg('series', 100_000), arg('rounds', 8), encode, arg('repeats', 3), only, arg('connections', 8))) + '\n',
    );
    return;
  }
  if (process.argv.includes('--ring-inprocess')) {
    process.stdout.write((await runRingInProcessBench(arg('series', 50_000), arg('rounds', 12), encode)) + '\n');
    return;
  }
  if (process.argv.includes('--share-http')) {
    process.stdout.write((await runShareHttpBench(arg('series', 50_000), arg('rounds', 12), encode, arg('repeats', 3))) + '\n');
    return;
  }
  if (process.argv.includes('--series-limits')) {
    const reference = !process.argv.includes('--no-reference');
    process.stdout.write(
      (await runSeriesLimitsBench(arg('max-series', 2_000_000), arg('steps', 10), arg('sample', 200_000), reference)) + '\n',
    );
    return;
  }
  if (process.argv.includes('--cardinality')) {
    process.stdout.write((await runCardinalityBench(arg('series', 200_000))) + '\n');
    return;
  }
  if (process.argv.includes('--relabel-ingest')) {
    process.stdout.write((await runRelabelIngestBench(arg('series', 50_000), arg('rounds', 12), encode)) + '\n');
    return;
  }
  if (process.argv.includes('--forwarding-only')) {
    process.stdout.write((await runForwardingBench(arg('series', 50_000), arg('rounds', 12), encode)) + '\n');
    return;
  }
  if (process.argv.includes('--secure-only')) {
    process.stdout.write((await runSecureIngestBench(arg('series', 100_000), arg('rounds', 8), encode, arg('repeats', 3))) + '\n');
    return;
  }
  if (process.argv.includes('--bucket-only')) {
    process.stdout.write((await runBucketQueryBench(hours, arg('repeats', 5))) + '\n');
    return;
  }
  if (process.argv.includes('--blocks-only')) {
    process.stdout.write((await runBlockBench()) + '\n');
    return;
  }
  if (process.argv.includes('--skip-ingest')) {
    process.stdout.write((await runQueryBench(hours, arg('repeats', 5))) + '\n');
    return;
  }
  const series = arg('series', 100_000);
  const rounds = arg('rounds', 8);
  const concurrency = arg('concurrency', 8);
  const small = arg('small-connections', 1000);
  const histogramShare = arg('histogram-share', 0);
  process.stdout.write(
    `# Ingest benchmark: ${series} active series${histogramShare > 0 ? ` (${histogramShare * 100}% native histograms)` : ''}, ${rounds} scrapes of 15 s each, fsync per batch on for Strata\n\n`,
  );
  const bulk = await runIngest({ series, rounds, concurrency, batch: SAMPLES_PER_REQUEST, encode, systems: only, histogramShare });
  process.stdout.write(formatIngest(`Bulk: ${concurrency} connections, ${SAMPLES_PER_REQUEST} samples per request`, bulk) + '\n\n');
  if (small > 0) {
    const many = await runIngest({
      series,
      rounds: Math.max(2, Math.floor(rounds / 2)),
      concurrency: small,
      batch: Math.max(1, Math.floor(series / small)),
      encode,
      systems: only,
      histogramShare,
    });
    process.stdout.write(
      formatIngest(`Many senders: ${small} keep-alive connections, ${Math.floor(series / small)} samples per request`, many) + '\n',
    );
  }
  // The benchmarks below send floats only: a histogram run stops at ingest.
  if (histogramShare > 0 || process.argv.includes('--ingest-only')) return;
  if (hours > 0) process.stdout.write('\n' + (await runQueryBench(hours, arg('repeats', 5))) + '\n');
  process.stdout.write('\n' + (await runBlockBench()) + '\n');
  process.stdout.write('\n' + (await runRingBench(series, rounds, encode)) + '\n');
  if (hours > 0) process.stdout.write('\n' + (await runBucketQueryBench(hours, arg('repeats', 5))) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
