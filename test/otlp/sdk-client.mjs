// The OpenTelemetry JS SDK as a real OTLP client, in its own process: its exporters load their
// HTTP transport with a dynamic import, which jest's module sandbox cannot run.
//
//   node sdk-client.mjs <scenario> <url> <tenant>
//
// Prints one JSON line per export ({"export": n, "code": 0|1, "error": "..."}); between the
// exports of a scenario it waits for a line on stdin, so the test can read data in between.
import readline from 'node:readline';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { AggregationTemporalityPreference, OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';

const [scenario, url, tenant] = process.argv.slice(2);

/** Collects only when asked, so the test decides when an export happens. */
class ManualReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
let n = 0;

async function exportOnce(reader, exporter) {
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) throw new Error(`collect: ${errors.join('; ')}`);
  const r = await new Promise((resolve) => exporter.export(resourceMetrics, resolve));
  process.stdout.write(
    JSON.stringify({ export: ++n, code: r.code, error: r.error ? String(r.error.message ?? r.error) : undefined }) + '\n',
  );
}

/** The exporter's temporality preference is applied by the reader, as a periodic reader would. */
function setup(resource, exporter) {
  const reader = new ManualReader({ aggregationTemporalitySelector: (kind) => exporter.selectAggregationTemporality(kind) });
  const meters = new MeterProvider({ resource: resourceFromAttributes(resource), readers: [reader] });
  return { meters, reader };
}

const headers = { 'X-Scope-OrgID': tenant };
const scenarios = {
  // Every synchronous and asynchronous instrument kind, protobuf with gzip, two exports.
  async proto() {
    const exporter = new ProtoExporter({ url, compression: 'gzip', headers });
    const { meters, reader } = setup(
      {
        'service.name': 'checkout',
        'service.namespace': 'shop',
        'service.instance.id': 'pod-1',
        'deployment.environment': 'test',
        'host.name': 'node-a',
      },
      exporter,
    );
    const meter = meters.getMeter('e2e', '1.0.0');
    const requests = meter.createCounter('http.server.requests', { unit: '{request}', description: 'Requests served.' });
    const bytes = meter.createCounter('net.io', { unit: 'By' });
    const depth = meter.createUpDownCounter('queue.depth');
    const duration = meter.createHistogram('http.server.duration', { unit: 'ms', advice: { explicitBucketBoundaries: [5, 10, 50] } });
    meter.createObservableGauge('cpu.utilization', { unit: '1' }).addCallback((o) => o.observe(0.25, { cpu: '0' }));
    requests.add(3, { 'http.method': 'GET', 'http.route': '/a' });
    requests.add(2, { 'http.method': 'GET', 'http.route': '/a' });
    requests.add(7, { 'http.method': 'POST', 'http.route': '/b' });
    bytes.add(1024);
    depth.add(5);
    depth.add(-2);
    for (const ms of [1, 7, 7, 20, 100]) duration.record(ms, { 'http.route': '/a' });
    await exportOnce(reader, exporter);
    await lines.next();
    requests.add(10, { 'http.method': 'POST', 'http.route': '/b' });
    await exportOnce(reader, exporter);
    await exporter.shutdown();
    await meters.shutdown();
  },
  // OTLP/JSON.
  async json() {
    const exporter = new JsonExporter({ url, headers });
    const { meters, reader } = setup({ 'service.name': 'billing' }, exporter);
    const meter = meters.getMeter('e2e-json');
    meter.createCounter('jobs.done').add(4, { queue: 'q1' });
    meter.createObservableGauge('temperature', { unit: 'Cel' }).addCallback((o) => o.observe(21.5));
    await exportOnce(reader, exporter);
    await exporter.shutdown();
    await meters.shutdown();
  },
  // A counter exported with delta temporality.
  async delta() {
    const exporter = new JsonExporter({ url, headers, temporalityPreference: AggregationTemporalityPreference.DELTA });
    const { meters, reader } = setup({ 'service.name': 'deltas' }, exporter);
    meters.getMeter('e2e-delta').createCounter('delta.requests').add(1);
    await exportOnce(reader, exporter);
    await exporter.shutdown();
    await meters.shutdown();
  },
};

await scenarios[scenario]();
process.exit(0);
