/**
 * `npm run bench -- --otlp`: CPU per sample of taking an OTLP metrics export in (protobuf decode,
 * translation, and decoding the translated remote-write request as the write path does) against
 * decoding the remote-write 1.0 request of the same samples, in one process and run. Data: 2000
 * gauge and counter streams with 5 attributes each, and 500 explicit-bucket histograms with 10
 * buckets (12 samples each); one point per stream, as an SDK's export carries.
 */
import { Labels } from '@strata/model';
import { decodeOtlpMetricsProto, decodeWriteRequestV1, encodeWriteRequestV1, translateOtlp, type SeriesToWrite } from '@strata/remote';
import { otlpJsonToProto } from '../packages/remote/test/otlp-fixtures.js';

const T = '1700000000000000000';
const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function attrs(i: number): { key: string; value: { stringValue: string } }[] {
  return [
    { key: 'http.method', value: { stringValue: i % 2 ? 'GET' : 'POST' } },
    { key: 'http.route', value: { stringValue: `/api/v1/items/${i % 50}` } },
    { key: 'http.status_code', value: { stringValue: String(200 + (i % 5)) } },
    { key: 'net.host.name', value: { stringValue: `host-${i % 20}` } },
    { key: 'stream', value: { stringValue: String(i) } },
  ];
}

function otlpDoc(streams: number, histograms: number): unknown {
  const metrics: unknown[] = [];
  const points = (n: number, f: (i: number) => object) =>
    Array.from({ length: n }, (_, i) => ({ attributes: attrs(i), timeUnixNano: T, ...f(i) }));
  metrics.push({ name: 'http.server.active', gauge: { dataPoints: points(streams / 2, (i) => ({ asDouble: i })) } });
  metrics.push({
    name: 'http.server.requests',
    unit: '{request}',
    sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: points(streams / 2, (i) => ({ asInt: String(i * 10) })) },
  });
  metrics.push({
    name: 'http.server.duration',
    unit: 's',
    histogram: {
      aggregationTemporality: 2,
      dataPoints: points(histograms, (i) => ({ count: '110', sum: i, bucketCounts: Array(11).fill('10'), explicitBounds: BOUNDS })),
    },
  });
  return {
    resourceMetrics: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'bench' } },
            { key: 'host.arch', value: { stringValue: 'amd64' } },
          ],
        },
        scopeMetrics: [{ scope: { name: 'bench' }, metrics }],
      },
    ],
  };
}

function cpuMs(fn: () => void, rounds: number): number {
  fn();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    // CPU time, not wall time: on a shared machine the process is often descheduled mid-round.
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000);
  }
  return best;
}

export function runOtlpBench(rounds = 30): string {
  const body = otlpDoc(2000, 500) as Parameters<typeof otlpJsonToProto>[0];
  const otlp = otlpJsonToProto(body);
  const opts = { strategy: 'UnderscoreEscapingWithSuffixes' as const, promoteResourceAttributes: [], exemplars: true };
  const translated = translateOtlp(decodeOtlpMetricsProto(otlp), opts);
  // The same samples as remote-write 1.0, as a Prometheus would send them.
  const batch = decodeWriteRequestV1(translated.request);
  const series: SeriesToWrite[] = batch.series.map((s) => ({
    labels: Labels.fromPairs(batch.labelsOf(s)),
    timestamps: Array.from(batch.timestamps.subarray(s.sampleStart, s.sampleEnd)),
    values: Array.from(batch.values.subarray(s.sampleStart, s.sampleEnd)),
  }));
  const rw = encodeWriteRequestV1(series);
  const samples = translated.samples;
  const decodeAll = (buf: Buffer) => {
    const b = decodeWriteRequestV1(buf);
    for (const s of b.series) b.labelsOf(s);
  };
  const rwMs = cpuMs(() => decodeAll(rw), rounds);
  const otlpMs = cpuMs(() => decodeAll(translateOtlp(decodeOtlpMetricsProto(otlp), opts).request), rounds);
  // Where the OTLP path's time goes, stage by stage (each the best of its own rounds).
  const decoded = decodeOtlpMetricsProto(otlp);
  const stages: [string, number][] = [
    ['OTLP protobuf decode', cpuMs(() => decodeOtlpMetricsProto(otlp), rounds)],
    ['translate to remote-write 1.0 bytes', cpuMs(() => translateOtlp(decoded, opts), rounds)],
    ['remote-write decode of the translation (labels decoded)', cpuMs(() => decodeAll(translated.request), rounds)],
  ];
  const ns = (ms: number) => ((ms * 1e6) / samples).toFixed(0);
  return [
    `OTLP ingest, ${samples} samples from ${batch.series.length} series (best of ${rounds} rounds, CPU time)`,
    '| path | bytes | CPU ns per sample |',
    '|---|---|---|',
    `| remote-write 1.0 decode (labels decoded) | ${rw.length} | ${ns(rwMs)} |`,
    `| OTLP protobuf decode + translate + remote-write decode | ${otlp.length} | ${ns(otlpMs)} |`,
    ...stages.map(([what, ms]) => `| - ${what} | | ${ns(ms)} |`),
    `OTLP / remote-write: ${(otlpMs / rwMs).toFixed(2)}x`,
  ].join('\n');
}
