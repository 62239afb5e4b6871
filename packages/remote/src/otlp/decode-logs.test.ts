/**
 * The OTLP logs decoders against the OpenTelemetry JS SDK's own serializers: random records
 * emitted through a real LoggerProvider are serialized by @opentelemetry/otlp-transformer to
 * protobuf and to JSON; both decoders must read back what was emitted, identically. Hostile and
 * truncated bodies end in a clear invalid-request-body, never another error.
 */
import fc from 'fast-check';
import { StrataError } from '@strata/model';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonLogsSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { decodeOtlpLogsJson } from './decode-json.js';
import { decodeOtlpLogsProto } from './decode-pb.js';

const text = fc.string({ maxLength: 8 });
const attrValue = fc.oneof(text, fc.integer(), fc.boolean());
const record = fc.record({
  // As HrTime [s, ns]: full nanoseconds (a number would be read as ms, and below the process' start as relative to it).
  time: fc.tuple(fc.integer({ min: 1, max: 4_000_000_000 }), fc.integer({ min: 0, max: 999_999_999 })),
  severityNumber: fc.integer({ min: 0, max: 24 }),
  severityText: text,
  body: fc.oneof(text, fc.integer(), fc.dictionary(fc.constantFrom('a', 'b', 'c'), text, { maxKeys: 2 })),
  attributes: fc.dictionary(fc.constantFrom('k1', 'http.status_code', 'user.id'), attrValue, { maxKeys: 3 }),
});

type Rec = typeof record extends fc.Arbitrary<infer T> ? T : never;

function serialize(records: Rec[], resource: Record<string, string>) {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(resource),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('scope-a', '2.0');
  for (const r of records)
    logger.emit({
      timestamp: r.time,
      severityNumber: r.severityNumber,
      severityText: r.severityText,
      body: r.body,
      attributes: r.attributes,
    });
  const got = exporter.getFinishedLogRecords();
  return {
    proto: Buffer.from(ProtobufLogsSerializer.serializeRequest(got as never)!),
    json: Buffer.from(JsonLogsSerializer.serializeRequest(got as never)!),
  };
}

const pairs = (o: Record<string, unknown>) => Object.entries(o).flatMap(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);

test('protobuf and JSON from the SDK decode to what was emitted, identically', () => {
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 5 }), (records) => {
      const { proto, json } = serialize(records, { 'service.name': 'svc', 'host.name': 'h' });
      const a = decodeOtlpLogsProto(proto);
      const b = decodeOtlpLogsJson(json);
      expect(b).toEqual(a);
      const res = a.resources[0];
      expect(res.attributes).toEqual(expect.arrayContaining(['service.name', 'svc', 'host.name', 'h']));
      const scope = res.scopes[0];
      expect([scope.name, scope.version]).toEqual(['scope-a', '2.0']);
      expect(scope.records.map((r) => r.timeNs)).toEqual(records.map((r) => BigInt(r.time[0]) * 1_000_000_000n + BigInt(r.time[1])));
      expect(scope.records.map((r) => [r.severityNumber, r.severityText])).toEqual(records.map((r) => [r.severityNumber, r.severityText]));
      expect(scope.records.map((r) => r.body)).toEqual(records.map((r) => (typeof r.body === 'string' ? r.body : JSON.stringify(r.body))));
      expect(scope.records.map((r) => r.attributes)).toEqual(records.map((r) => pairs(r.attributes)));
    }),
    { numRuns: 60 },
  );
});

test('random, truncated and altered bodies are a 400 or decode, never another error', () => {
  const { proto, json } = serialize(
    [{ time: [1_700_000_000, 5], severityNumber: 9, severityText: 'INFO', body: { a: 'x' }, attributes: { k1: 'v' } }],
    { 'service.name': 'svc' },
  );
  const check = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      // A 400 of the decoders' own: invalid-request-body, or invalid-label-value for text that is not UTF-8.
      expect(e).toBeInstanceOf(StrataError);
      expect(['invalid-request-body', 'invalid-label-value']).toContain((e as StrataError).id);
    }
  };
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(255), (bytes, at, v) => {
      check(() => decodeOtlpLogsProto(Buffer.from(bytes)));
      check(() => decodeOtlpLogsProto(proto.subarray(0, at % (proto.length + 1))));
      const altered = Buffer.from(proto);
      altered[at % altered.length] = v;
      check(() => decodeOtlpLogsProto(altered));
      check(() => decodeOtlpLogsJson(json.subarray(0, at % (json.length + 1))));
      check(() => decodeOtlpLogsJson(Buffer.from(bytes)));
    }),
    { numRuns: 300 },
  );
});
