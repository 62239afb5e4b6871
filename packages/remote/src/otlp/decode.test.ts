import fc from 'fast-check';
import { StrataError } from '@strata/model';
import { decodeOtlpMetricsJson } from './decode-json.js';
import { decodeOtlpMetricsProto } from './decode-pb.js';
import { translateOtlp } from './translate.js';
import { otlpJsonToProto } from '../../test/otlp-fixtures.js';
import { OTLP_SEED_DOC } from '../../test/otlp-seed-doc.js';

const text = fc.string({ maxLength: 6 });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 63n }).map(String);
const nanos = fc.bigInt({ min: 0n, max: 4_000_000_000_000_000_000n }).map(String);
const attr = fc.record({
  key: text,
  value: fc.oneof(
    fc.record({ stringValue: text }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ intValue: fc.integer().map(String) }),
    fc.record({ doubleValue: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
  ),
});
const attrs = fc.array(attr, { maxLength: 3 });
const exemplar = fc.record({ filteredAttributes: attrs, timeUnixNano: nanos, asDouble: fc.double({ noNaN: true }) });
const base = { attributes: attrs, startTimeUnixNano: nanos, timeUnixNano: nanos, flags: fc.nat(3) };
const numberPoint = fc.record({ ...base, asDouble: fc.double({ noNaN: true }), exemplars: fc.array(exemplar, { maxLength: 2 }) });
const histPoint = fc.record({
  ...base,
  count: u64,
  sum: fc.double({ noNaN: true }),
  bucketCounts: fc.array(u64, { maxLength: 4 }),
  explicitBounds: fc.array(fc.double({ noNaN: true }), { maxLength: 3 }),
});
const buckets = fc.record({
  offset: fc.integer({ min: -100, max: 100 }),
  bucketCounts: fc.array(fc.nat(1000).map(String), { maxLength: 5 }),
});
const expPoint = fc.record({
  ...base,
  count: u64,
  sum: fc.double({ noNaN: true }),
  scale: fc.integer({ min: -6, max: 12 }),
  zeroCount: u64,
  positive: buckets,
  negative: buckets,
});
const summaryPoint = fc.record({
  ...base,
  count: u64,
  sum: fc.double({ noNaN: true }),
  quantileValues: fc.array(fc.record({ quantile: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.double({ noNaN: true }) }), {
    maxLength: 3,
  }),
});
const points = <T>(p: fc.Arbitrary<T>) => fc.array(p, { maxLength: 3 });
const temporality = fc.constantFrom(0, 1, 2);
const metric = fc.record({
  name: text,
  unit: fc.constantFrom('', 'ms', 'By', '1', '{x}', 'By/s'),
  data: fc.oneof(
    fc.record({ gauge: fc.record({ dataPoints: points(numberPoint) }) }),
    fc.record({ sum: fc.record({ aggregationTemporality: temporality, isMonotonic: fc.boolean(), dataPoints: points(numberPoint) }) }),
    fc.record({ histogram: fc.record({ aggregationTemporality: temporality, dataPoints: points(histPoint) }) }),
    fc.record({ exponentialHistogram: fc.record({ aggregationTemporality: temporality, dataPoints: points(expPoint) }) }),
    fc.record({ summary: fc.record({ dataPoints: points(summaryPoint) }) }),
  ),
});
const docArb = fc
  .array(fc.record({ resource: fc.record({ attributes: attrs }), metrics: fc.array(metric, { maxLength: 4 }) }), { maxLength: 3 })
  .map((rs) => ({
    resourceMetrics: rs.map((r) => ({
      resource: r.resource,
      scopeMetrics: [{ scope: { name: 'lib', version: '1' }, metrics: r.metrics.map((m) => ({ name: m.name, unit: m.unit, ...m.data })) }],
    })),
  }));

/**
 * Proto3's JSON form: doubles JSON.stringify cannot write are strings: "NaN", "Infinity",
 * "-Infinity", and "-0" (which it would print as 0).
 */
const protoJson = (d: unknown): string =>
  JSON.stringify(d, (_k, v) =>
    typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? String(Object.is(v, -0) ? '-0' : v) : v,
  );

const opts = { strategy: 'UnderscoreEscapingWithSuffixes' as const, promoteResourceAttributes: [], exemplars: true };

describe('OTLP decoders', () => {
  test('protobuf and JSON of one document decode to the same request (property)', () => {
    fc.assert(
      fc.property(docArb, (d: any) => {
        const fromJson = decodeOtlpMetricsJson(Buffer.from(protoJson(d)));
        const fromProto = decodeOtlpMetricsProto(otlpJsonToProto(d));
        expect(fromProto).toEqual(fromJson);
        // And they translate without an error other than the documented refusals.
        expect(translateOtlp(fromProto, opts).request.equals(translateOtlp(fromJson, opts).request)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('truncated, flipped and random protobuf bodies fail only with StrataError', () => {
    const good = otlpJsonToProto(OTLP_SEED_DOC);
    const onlyStrata = (b: Buffer) => {
      try {
        translateOtlp(decodeOtlpMetricsProto(b), opts);
      } catch (e) {
        if (!(e instanceof StrataError)) throw e;
        expect(e.status).toBe(400);
      }
    };
    for (let cut = 0; cut < good.length; cut++) onlyStrata(good.subarray(0, cut));
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.nat(255), (at, byte) => {
        const b = Buffer.from(good);
        b[at] = byte;
        onlyStrata(b);
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => onlyStrata(Buffer.from(b))),
      { numRuns: 3000 },
    );
  });

  test('hostile JSON fails only with StrataError: wrong types, deep nesting, not JSON', () => {
    const deep = (n: number): any => (n === 0 ? { stringValue: 'x' } : { arrayValue: { values: [deep(n - 1)] } });
    const bodies = [
      '',
      'null',
      '[]',
      '{"resourceMetrics": 1}',
      '{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": 1}]}]}]}',
      '{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "a", "gauge": {"dataPoints": [{"timeUnixNano": "1.5"}]}}]}]}]}',
      '{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "a", "sum": {"dataPoints": [{"asInt": true}]}}]}]}]}',
      JSON.stringify({ resourceMetrics: [{ resource: { attributes: [{ key: 'k', value: deep(100) }] } }] }),
      '{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "a", "gauge": {"dataPoints": [{"exemplars": [{"traceId": "zz"}]}]}}]}]}]}',
    ];
    for (const b of bodies) {
      expect(() => decodeOtlpMetricsJson(Buffer.from(b))).toThrow(StrataError);
    }
  });

  test('deeply nested protobuf attribute values are refused, not a stack overflow', () => {
    const deep = (n: number): any => (n === 0 ? { stringValue: 'x' } : { arrayValue: { values: [deep(n - 1)] } });
    const b = otlpJsonToProto({ resourceMetrics: [{ resource: { attributes: [{ key: 'k', value: deep(50) }] } }] });
    expect(() => decodeOtlpMetricsProto(b)).toThrow(/nested too deeply/);
  });

  test('attribute values render as Prometheus renders them', () => {
    const [res] = decodeOtlpMetricsProto(otlpJsonToProto(OTLP_SEED_DOC)).resources;
    expect(res.attributes).toEqual([
      'service.name',
      'svc',
      'service.instance.id',
      'i-1',
      'host.cores',
      '8',
      'feature.on',
      'true',
      'ratio',
      '0.5',
      'tags',
      '["a",2]',
      'nested',
      '{"k":"v"}',
      'blob',
      'AAEC',
    ]);
  });
});
