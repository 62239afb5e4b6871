import fc from 'fast-check';
import { decodeWriteRequestV1 } from '../write-v1.js';
import { decodeOtlpMetricsJson } from './decode-json.js';
import { decodeOtlpMetricsProto } from './decode-pb.js';
import { formatFloat, labelName, metricName, type SuffixKind, type TranslationStrategy } from './names.js';
import { bucketLayout, translateOtlp, type TranslateOptions } from './translate.js';
import { histogramsOf, otlpJsonToProto, seriesLines } from '../../test/otlp-fixtures.js';

const T = '1700000000123456789'; // ns; 1700000000123 ms
const MS = 1700000000123;
const DEFAULTS: TranslateOptions = { strategy: 'UnderscoreEscapingWithSuffixes', promoteResourceAttributes: [], exemplars: false };

function doc(metrics: any[], resource: Record<string, string> = { 'service.name': 'svc' }): any {
  return {
    resourceMetrics: [
      {
        resource: { attributes: Object.entries(resource).map(([key, v]) => ({ key, value: { stringValue: v } })) },
        scopeMetrics: [{ scope: { name: 'lib', version: '1' }, metrics }],
      },
    ],
  };
}

const attrs = (o: Record<string, string>) => Object.entries(o).map(([key, v]) => ({ key, value: { stringValue: v } }));

/** Translates through both decoders (JSON, and the same document as protobuf) and checks they agree. */
function translate(d: any, opts: Partial<TranslateOptions> = {}) {
  const o = { ...DEFAULTS, ...opts };
  const fromJson = translateOtlp(decodeOtlpMetricsJson(Buffer.from(JSON.stringify(d))), o);
  const fromProto = translateOtlp(decodeOtlpMetricsProto(otlpJsonToProto(d)), o);
  expect(fromProto.request.equals(fromJson.request)).toBe(true);
  expect(fromProto.errors).toEqual(fromJson.errors);
  return fromJson;
}

describe('metric names', () => {
  const cases: [string, string, SuffixKind, TranslationStrategy, string][] = [
    ['http.server.duration', 'ms', 'other', 'UnderscoreEscapingWithSuffixes', 'http_server_duration_milliseconds'],
    ['http.server.requests', '{request}', 'counter', 'UnderscoreEscapingWithSuffixes', 'http_server_requests_total'],
    ['system.network.io', 'By', 'counter', 'UnderscoreEscapingWithSuffixes', 'system_network_io_bytes_total'],
    ['throughput', 'By/s', 'gauge', 'UnderscoreEscapingWithSuffixes', 'throughput_bytes_per_second'],
    ['cpu.utilization', '1', 'gauge', 'UnderscoreEscapingWithSuffixes', 'cpu_utilization_ratio'],
    ['cpu.utilization', '1', 'counter', 'UnderscoreEscapingWithSuffixes', 'cpu_utilization_total'],
    ['requests_total', '', 'counter', 'UnderscoreEscapingWithSuffixes', 'requests_total'],
    ['total.requests', '', 'counter', 'UnderscoreEscapingWithSuffixes', 'requests_total'],
    ['2xx.responses', '', 'gauge', 'UnderscoreEscapingWithSuffixes', '_2xx_responses'],
    ['latency_seconds', 's', 'other', 'UnderscoreEscapingWithSuffixes', 'latency_seconds'],
    ['mem', 'MiBy', 'gauge', 'UnderscoreEscapingWithSuffixes', 'mem_mebibytes'],
    ['temp', 'Cel', 'gauge', 'UnderscoreEscapingWithSuffixes', 'temp_celsius'],
    ['a..b__c', '', 'gauge', 'UnderscoreEscapingWithSuffixes', 'a_b_c'],
    ['ns:metric', '', 'gauge', 'UnderscoreEscapingWithSuffixes', 'ns:metric'],
    ['custom', 'widgets', 'gauge', 'UnderscoreEscapingWithSuffixes', 'custom_widgets'],
    ['rate', 'km/h', 'gauge', 'UnderscoreEscapingWithSuffixes', 'rate_km_per_hour'],
    ['http.server.duration', 'ms', 'other', 'UnderscoreEscapingWithoutSuffixes', 'http_server_duration'],
    ['a..b__c', 'By', 'counter', 'UnderscoreEscapingWithoutSuffixes', 'a_b__c'],
    ['http.server.duration', 'ms', 'other', 'NoUTF8EscapingWithSuffixes', 'http.server.duration_milliseconds'],
    ['http.requests', '', 'counter', 'NoUTF8EscapingWithSuffixes', 'http.requests_total'],
    ['cpu.util', '1', 'gauge', 'NoUTF8EscapingWithSuffixes', 'cpu.util_ratio'],
    ['net.io', 'By/s', 'gauge', 'NoUTF8EscapingWithSuffixes', 'net.io_bytes_per_second'],
    ['http.server.duration', 'ms', 'counter', 'NoTranslation', 'http.server.duration'],
  ];
  test.each(cases)('%s [%s] as %s under %s is %s', (name, unit, kind, strategy, want) => {
    expect(metricName(name, unit, kind, strategy)).toBe(want);
  });

  const labels: [string, TranslationStrategy, string][] = [
    ['http.method', 'UnderscoreEscapingWithSuffixes', 'http_method'],
    ['2x', 'UnderscoreEscapingWithSuffixes', 'key_2x'],
    ['_private', 'UnderscoreEscapingWithSuffixes', 'key_private'],
    ['__reserved', 'UnderscoreEscapingWithSuffixes', '__reserved'],
    ['ünïcode-key', 'UnderscoreEscapingWithoutSuffixes', 'key_n_code_key'],
    ['http.method', 'NoUTF8EscapingWithSuffixes', 'http.method'],
    ['http.method', 'NoTranslation', 'http.method'],
  ];
  test.each(labels)('attribute %s under %s is label %s', (key, strategy, want) => {
    expect(labelName(key, strategy)).toBe(want);
  });

  const floats: [number, string][] = [
    [0.005, '0.005'],
    [1e-7, '0.0000001'],
    [1.5e-10, '0.00000000015'],
    [1e21, '1000000000000000000000'],
    [-2.5e-8, '-0.000000025'],
    [100, '100'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ];
  test.each(floats)('formatFloat(%s) is %s', (v, want) => expect(formatFloat(v)).toBe(want));
});

describe('translation', () => {
  test('gauges, sums, job/instance, point attributes with colliding names, int values', () => {
    const t = translate(
      doc(
        [
          { name: 'g', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 1.5, attributes: attrs({ 'a.b': 'x', a_b: 'y' }) }] } },
          { name: 'c', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: T, asInt: '42' }] } },
          { name: 'ud', sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [{ timeUnixNano: T, asInt: '-3' }] } },
        ],
        { 'service.name': 'api', 'service.namespace': 'prod', 'service.instance.id': 'i-7' },
      ),
    );
    expect(t.errors).toEqual([]);
    expect(seriesLines(t.request)).toEqual([
      `{__name__="c_total",instance="i-7",job="prod/api"} ${MS}=42`,
      `{__name__="g",a_b="x;y",instance="i-7",job="prod/api"} ${MS}=1.5`,
      `{__name__="ud",instance="i-7",job="prod/api"} ${MS}=-3`,
    ]);
    const meta = decodeWriteRequestV1(t.request).metadata.map((m) => `${m.metricFamilyName}:${m.type}`);
    expect(meta).toEqual(['g:gauge', 'c_total:counter', 'ud:gauge']);
  });

  test('target_info holds the other resource attributes at the latest sample; promoted ones go on every series', () => {
    const d = doc(
      [
        { name: 'g', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 1 }] } },
        {
          name: 'h',
          gauge: { dataPoints: [{ timeUnixNano: '1700000005000000000', asDouble: 2, attributes: attrs({ 'k8s.pod.name': 'mine' }) }] },
        },
      ],
      { 'service.name': 'api', 'k8s.pod.name': 'p-1', 'cloud.region': 'eu' },
    );
    expect(seriesLines(translate(d, { promoteResourceAttributes: ['k8s.pod.name', 'absent.attr'] }).request)).toEqual([
      `{__name__="g",job="api",k8s_pod_name="p-1"} ${MS}=1`,
      `{__name__="h",job="api",k8s_pod_name="mine"} 1700000005000=2`,
      `{__name__="target_info",cloud_region="eu",job="api",k8s_pod_name="p-1"} 1700000005000=1`,
    ]);
    // Only identifying attributes: no target_info.
    expect(seriesLines(translate(doc([{ name: 'g', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 1 }] } }])).request)).toEqual([
      `{__name__="g",job="svc"} ${MS}=1`,
    ]);
  });

  test('classic histograms: cumulative _bucket{le}, _sum, _count; exemplars go to the bucket holding them', () => {
    const d = doc([
      {
        name: 'lat',
        unit: 's',
        histogram: {
          aggregationTemporality: 2,
          dataPoints: [
            {
              timeUnixNano: T,
              count: '6',
              sum: 3.5,
              bucketCounts: ['1', '2', '3'],
              explicitBounds: [0.1, 1],
              exemplars: [
                { timeUnixNano: T, asDouble: 0.5, traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708' },
                { timeUnixNano: T, asDouble: 7 },
              ],
            },
          ],
        },
      },
    ]);
    expect(seriesLines(translate(d).request)).toEqual([
      `{__name__="lat_seconds_bucket",job="svc",le="+Inf"} ${MS}=6`,
      `{__name__="lat_seconds_bucket",job="svc",le="0.1"} ${MS}=1`,
      `{__name__="lat_seconds_bucket",job="svc",le="1"} ${MS}=3`,
      `{__name__="lat_seconds_count",job="svc"} ${MS}=6`,
      `{__name__="lat_seconds_sum",job="svc"} ${MS}=3.5`,
    ]);
    expect(seriesLines(translate(d, { exemplars: true }).request)).toEqual([
      `{__name__="lat_seconds_bucket",job="svc",le="+Inf"} ${MS}=6 exemplars=1`,
      `{__name__="lat_seconds_bucket",job="svc",le="0.1"} ${MS}=1`,
      `{__name__="lat_seconds_bucket",job="svc",le="1"} ${MS}=3 exemplars=1`,
      `{__name__="lat_seconds_count",job="svc"} ${MS}=6`,
      `{__name__="lat_seconds_sum",job="svc"} ${MS}=3.5`,
    ]);
  });

  test("the name and a bucket's le replace attributes of the same name (the _count keeps it); empty values are dropped; labels stay sorted", () => {
    const d = doc([
      {
        name: 'lat',
        histogram: {
          aggregationTemporality: 2,
          dataPoints: [
            {
              attributes: attrs({ le: 'x', __name__: 'y', A: 'upper', a: '', zz: 'last', _b: 'under' }),
              timeUnixNano: T,
              count: '2',
              bucketCounts: ['1', '1'],
              explicitBounds: [1],
            },
          ],
        },
      },
    ]);
    expect(seriesLines(translate(d).request)).toEqual([
      `{A="upper",__name__="lat_bucket",job="svc",key_b="under",le="+Inf",zz="last"} ${MS}=2`,
      `{A="upper",__name__="lat_bucket",job="svc",key_b="under",le="1",zz="last"} ${MS}=1`,
      `{A="upper",__name__="lat_count",job="svc",key_b="under",le="x",zz="last"} ${MS}=2`,
    ]);
  });

  test('summaries: {quantile}, _sum, _count', () => {
    const d = doc([
      {
        name: 'rpc.latency',
        summary: {
          dataPoints: [
            {
              timeUnixNano: T,
              count: '10',
              sum: 2,
              quantileValues: [
                { quantile: 0.5, value: 0.1 },
                { quantile: 0.99, value: 0.9 },
              ],
            },
          ],
        },
      },
    ]);
    expect(seriesLines(translate(d).request)).toEqual([
      `{__name__="rpc_latency",job="svc",quantile="0.5"} ${MS}=0.1`,
      `{__name__="rpc_latency",job="svc",quantile="0.99"} ${MS}=0.9`,
      `{__name__="rpc_latency_count",job="svc"} ${MS}=10`,
      `{__name__="rpc_latency_sum",job="svc"} ${MS}=2`,
    ]);
  });

  test('a point flagged "no recorded value" is a staleness marker, bit for bit', () => {
    const t = translate(doc([{ name: 'g', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 1, flags: 1 }] } }]));
    const b = decodeWriteRequestV1(t.request);
    const bits = Buffer.from(b.values.buffer, 0, 8);
    expect([bits.readUInt32LE(0), bits.readUInt32LE(4)]).toEqual([2, 0x7ff00000]);
  });

  test('refusals name the metric and the reason; the rest is translated', () => {
    const t = translate(
      doc([
        {
          name: 'd',
          sum: {
            aggregationTemporality: 1,
            isMonotonic: true,
            dataPoints: [
              { timeUnixNano: T, asInt: '1' },
              { timeUnixNano: T, asInt: '2' },
            ],
          },
        },
        { name: 'u', histogram: { dataPoints: [{ timeUnixNano: T, count: '1' }] } },
        { name: '', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 1 }] } },
        { name: 'nodata' },
        { name: 'e', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T, scale: -5, count: '1' }] } },
        { name: 'ok', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 1 }] } },
      ]),
    );
    expect(t.errors).toEqual([
      'metric "d" has delta aggregation temporality; only cumulative sums and histograms are accepted (configure the exporter\'s temporality preference as cumulative)',
      'metric "u" has unspecified aggregation temporality; only cumulative sums and histograms are accepted (configure the exporter\'s temporality preference as cumulative)',
      'metric "" has no name',
      'metric "nodata" has no data (gauge, sum, histogram, exponential histogram or summary)',
      'exponential histogram "e": scale -5 is below the lowest Prometheus supports (-4)',
    ]);
    expect(t.rejectedPoints).toBe(5);
    expect(seriesLines(t.request)).toEqual([`{__name__="ok",job="svc"} ${MS}=1`]);
  });

  test('exponential histograms become native histograms: schema, zero bucket, spans and deltas', () => {
    const d = doc([
      {
        name: 'size',
        unit: 'By',
        exponentialHistogram: {
          aggregationTemporality: 2,
          dataPoints: [
            {
              timeUnixNano: T,
              count: '13',
              sum: 100.5,
              scale: 3,
              zeroCount: '2',
              // OTLP buckets 5..11 (Prometheus 6..12): 1 0 2 0 0 0 4 -> spans [6,3] and, after a gap of 3, [3,1].
              positive: { offset: 5, bucketCounts: ['1', '0', '2', '0', '0', '0', '4'] },
              negative: { offset: -2, bucketCounts: ['3', '1'] },
            },
          ],
        },
      },
    ]);
    const t = translate(d);
    expect(t.histograms).toBe(1);
    expect(histogramsOf(t.request)).toEqual([
      {
        labels: ['__name__', 'size_bytes', 'job', 'svc'],
        count: 13,
        countFloat: undefined,
        sum: 100.5,
        schema: 3,
        zeroThreshold: 1e-128,
        zeroCount: 2,
        positiveSpans: [6, 3, 3, 1],
        positiveDeltas: [1, -1, 2, 2],
        negativeSpans: [-1, 2],
        negativeDeltas: [3, -2],
        timestamp: MS,
      },
    ]);
  });

  test('scales above 8 are merged down to schema 8', () => {
    const d = doc([
      {
        name: 'fine',
        exponentialHistogram: {
          aggregationTemporality: 2,
          dataPoints: [{ timeUnixNano: T, count: '6', scale: 10, positive: { offset: 4, bucketCounts: ['1', '1', '1', '1', '2'] } }],
        },
      },
    ]);
    // OTLP indices 4..8 at scale 10 are 1,1,1,1,1 (>> 2) and 2 at scale 8: Prometheus 2 and 3.
    const [h] = histogramsOf(translate(d).request);
    expect([h.schema, h.positiveSpans, h.positiveDeltas]).toEqual([8, [2, 2], [4, -2]]);
  });
});

describe('bucketLayout (property)', () => {
  test('spans and deltas hold exactly the non-empty merged buckets, at Prometheus indices', () => {
    fc.assert(
      fc.property(fc.integer({ min: -50, max: 50 }), fc.array(fc.nat(5), { maxLength: 40 }), fc.nat(3), (offset, counts, scaleDown) => {
        const spans: number[] = [];
        const deltas: number[] = [];
        bucketLayout(offset, counts, scaleDown, spans, deltas);
        const want = new Map<number, number>();
        counts.forEach((c, k) => {
          const i = Math.floor((offset + k) / 2 ** scaleDown) + 1;
          want.set(i, (want.get(i) ?? 0) + c);
        });
        for (const [i, c] of want) if (c === 0) want.delete(i);
        const got = new Map<number, number>();
        let idx = 0;
        let count = 0;
        let d = 0;
        for (let s = 0; s < spans.length; s += 2) {
          idx += spans[s];
          for (let j = 0; j < spans[s + 1]; j++) {
            count += deltas[d++];
            if (count !== 0) got.set(idx, count);
            idx++;
          }
          expect(spans[s + 1]).toBeGreaterThan(0);
          if (s > 0) expect(spans[s]).toBeGreaterThan(2);
        }
        expect(d).toBe(deltas.length);
        expect([...got].sort((a, b) => a[0] - b[0])).toEqual([...want].sort((a, b) => a[0] - b[0]));
      }),
    );
  });
});

describe('series labels (property, against a plain model)', () => {
  // Keys chosen to collide: escaping to one name (a.b, a_b), the names series insert (le,
  // quantile, __name__), job and instance, an empty key; values with an empty one.
  const key = fc.constantFrom('le', '__name__', 'a.b', 'a_b', 'Z', 'quantile', 'x', 'job', 'instance', '', 'é');
  const value = fc.constantFrom('v', '', 'w', 'ü', '1');
  const attributes = fc.array(fc.record({ key, value: value.map((v) => ({ stringValue: v })) }), { maxLength: 4 });
  const time = fc.nat(2).map((i) => String(BigInt(T) + BigInt(i) * 1_000_000n));
  const name = fc.constantFrom('m', 'target_info', 'm_bucket', 'm.total');
  const points = <V extends object>(v: fc.Arbitrary<V>) =>
    fc
      .array(fc.record({ attributes, timeUnixNano: time, v }), { minLength: 1, maxLength: 3 })
      .map((ps) => ps.map(({ v: x, ...p }) => ({ ...p, ...x })));
  const metric = fc.oneof(
    fc.record({ name, gauge: fc.record({ dataPoints: points(fc.record({ asDouble: fc.nat(9) })) }) }),
    fc.record({
      name,
      sum: fc.record({
        aggregationTemporality: fc.constant(2),
        isMonotonic: fc.boolean(),
        dataPoints: points(fc.record({ asInt: fc.nat(9).map(String) })),
      }),
    }),
    fc.record({
      name,
      histogram: fc.record({
        aggregationTemporality: fc.constant(2),
        dataPoints: points(fc.constant({ count: '3', sum: 1, bucketCounts: ['1', '1', '1'], explicitBounds: [0.5, 1] })),
      }),
    }),
    fc.record({
      name,
      summary: fc.record({ dataPoints: points(fc.constant({ count: '3', sum: 2, quantileValues: [{ quantile: 0.5, value: 1 }] })) }),
    }),
  );
  const strategy = fc.constantFrom<TranslationStrategy>(
    'UnderscoreEscapingWithSuffixes',
    'UnderscoreEscapingWithoutSuffixes',
    'NoUTF8EscapingWithSuffixes',
    'NoTranslation',
  );

  /** The label sets a point's series get, written the plain way: maps, then sorted. */
  function modelLabels(
    point: { key: string; value: { stringValue: string } }[],
    resource: Map<string, string>,
    s: TranslationStrategy,
    set: [string, string][],
  ): string {
    const m = new Map<string, string>();
    for (const a of [...point].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))) {
      const k = labelName(a.key, s);
      m.set(k, m.has(k) ? `${m.get(k)};${a.value.stringValue}` : a.value.stringValue);
    }
    for (const [k, v] of resource) if (k === 'job' || k === 'instance' || !m.has(k)) m.set(k, v);
    for (const [k, v] of set) m.set(k, v);
    return [...m]
      .filter(([k, v]) => k !== '' && v !== '')
      .sort((x, y) => (x[0] < y[0] ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  }

  test('each label set once, sorted, with the samples the model gives it', () => {
    fc.assert(
      fc.property(fc.array(metric, { minLength: 1, maxLength: 4 }), attributes, strategy, fc.boolean(), (metrics, res, s, promote) => {
        const resourceAttrs = [...res, { key: 'service.name', value: { stringValue: 'svc' } }];
        const d = {
          resourceMetrics: [{ resource: { attributes: resourceAttrs }, scopeMetrics: [{ scope: { name: 's' }, metrics }] }],
        };
        const promoted = promote ? ['x', 'le', '__name__'] : [];
        const out = translateOtlp(decodeOtlpMetricsProto(otlpJsonToProto(d as any)), {
          strategy: s,
          promoteResourceAttributes: promoted,
          exemplars: false,
        });
        // The model: resource labels (promoted, then job winning), and every sample under its label set.
        const resource = new Map<string, string>();
        const get = (k: string) => [...resourceAttrs].reverse().find((a) => a.key === k)?.value.stringValue;
        for (const k of promoted) {
          const v = get(k);
          if (v !== undefined) resource.set(labelName(k, s), v);
        }
        resource.set('job', 'svc');
        const want = new Map<string, number>();
        const count = (labels: string) => want.set(labels, (want.get(labels) ?? 0) + 1);
        for (const m of metrics) {
          const kind: SuffixKind = 'sum' in m && m.sum.isMonotonic ? 'counter' : 'gauge' in m || 'sum' in m ? 'gauge' : 'other';
          const n = metricName(m.name, '', kind, s);
          const ps: any[] =
            'gauge' in m
              ? m.gauge.dataPoints
              : 'sum' in m
                ? m.sum.dataPoints
                : 'histogram' in m
                  ? m.histogram.dataPoints
                  : m.summary.dataPoints;
          for (const p of ps) {
            const series: [string, string][][] =
              'histogram' in m
                ? [
                    [['__name__', `${n}_sum`]],
                    [['__name__', `${n}_count`]],
                    ...['0.5', '1', '+Inf'].map((le): [string, string][] => [
                      ['__name__', `${n}_bucket`],
                      ['le', le],
                    ]),
                  ]
                : 'summary' in m
                  ? [
                      [
                        ['__name__', n],
                        ['quantile', '0.5'],
                      ],
                      [['__name__', `${n}_sum`]],
                      [['__name__', `${n}_count`]],
                    ]
                  : [[['__name__', n]]];
            for (const set of series) count(modelLabels(p.attributes, resource, s, set));
          }
        }
        // The resource's other attributes make one target_info sample, with its job.
        const info = resourceAttrs.filter((a) => a.key !== 'service.name');
        if (info.length > 0) count(modelLabels(info, new Map([['job', 'svc']]), s, [['__name__', 'target_info']]));
        const b = decodeWriteRequestV1(out.request);
        const got = new Map<string, number>();
        for (const r of b.series) {
          const pairs = b.labelsOf(r);
          const names = pairs.filter((_, i) => i % 2 === 0);
          expect([...names].sort()).toEqual(names);
          expect(new Set(names).size).toBe(names.length);
          const labels = names.map((k, i) => `${k}=${pairs[2 * i + 1]}`).join(',');
          expect(got.has(labels)).toBe(false);
          got.set(labels, r.sampleEnd - r.sampleStart);
        }
        for (const [labels, n] of want) expect([labels, got.get(labels)]).toEqual([labels, n]);
      }),
      { numRuns: 300 },
    );
  });
});
