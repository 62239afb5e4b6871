// The OpenTelemetry JS SDK's logs exporters as a real OTLP client, in its own process (their
// HTTP transport loads with a dynamic import, which jest's module sandbox cannot run).
//
//   node logs-client.mjs <proto|json> <url> <tenant> <run id>
//
// Emits the scenario's records through a LoggerProvider, exports them once, and prints the
// export's result as one JSON line ({"code": 0|1, "error": "..."}).
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';

const [encoding, url, tenant, run] = process.argv.slice(2);
const headers = { 'X-Scope-OrgID': tenant };
const inner = encoding === 'proto' ? new ProtoExporter({ url, compression: 'gzip', headers }) : new JsonExporter({ url, headers });

let result;
/** Passes records to the real exporter and keeps its answer. */
const exporter = {
  export(records, done) {
    inner.export(records, (r) => {
      result = r;
      done(r);
    });
  },
  shutdown: () => inner.shutdown(),
  forceFlush: () => inner.forceFlush?.(),
};

const provider = new LoggerProvider({
  resource: resourceFromAttributes({
    'service.name': 'checkout',
    'service.namespace': 'shop',
    'k8s.pod.name': `pod-${encoding}`,
    'host.name': 'node-a',
    run,
  }),
  // One batch, exported on forceFlush: the three records travel in one request.
  processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 60_000 })],
});
const logger = provider.getLogger('e2e', '1.0.0');
const t0 = Date.now() - 1000;
logger.emit({
  timestamp: t0,
  severityNumber: 9,
  severityText: 'INFO',
  body: `user logged in ${encoding}`,
  attributes: { 'user.id': 'u1' },
});
logger.emit({
  timestamp: t0 + 1,
  severityNumber: 17,
  severityText: 'ERROR',
  body: `payment failed ${encoding}`,
  attributes: { 'http.status_code': 500 },
});
logger.emit({ timestamp: t0 + 2, body: { order: 42, items: ['a', 'b'] } });
await provider.forceFlush();
process.stdout.write(
  JSON.stringify({ code: result?.code, error: result?.error ? String(result.error.message ?? result.error) : undefined }) + '\n',
);
await provider.shutdown();
