/** OTLP log records to Loki streams, case by case, as Loki's default OTLP mapping gives them. */
import type { OtlpLogRecord, OtlpLogsRequest } from '@strata/remote';
import { otlpLogsToStreams } from './otlp-logs.js';

const NOW = 1_800_000_000_000_000_000n;

function rec(over: Partial<OtlpLogRecord> = {}): OtlpLogRecord {
  return {
    timeNs: 0n,
    observedTimeNs: 0n,
    severityNumber: 0,
    severityText: '',
    body: 'line',
    attributes: [],
    droppedAttributesCount: 0,
    flags: 0,
    traceId: '',
    spanId: '',
    ...over,
  };
}

function req(
  resource: string[],
  records: OtlpLogRecord[],
  scope: Partial<OtlpLogsRequest['resources'][0]['scopes'][0]> = {},
): OtlpLogsRequest {
  return {
    resources: [
      { attributes: resource, scopes: [{ name: '', version: '', attributes: [], droppedAttributesCount: 0, records, ...scope }] },
    ],
  };
}

const one = (r: OtlpLogsRequest) => {
  const s = otlpLogsToStreams(r, NOW);
  expect(s).toHaveLength(1);
  return { labels: s[0].labels.toString(), ts: [...s[0].timestampsNs], lines: s[0].lines, md: s[0].metadata?.map((m) => m?.toString()) };
};

test.each<[string, OtlpLogsRequest, Partial<ReturnType<typeof one>>]>([
  [
    'listed resource attributes are labels, the others structured metadata',
    req(['service.name', 'api', 'k8s.namespace.name', 'prod', 'host.name', 'n1'], [rec({ timeNs: 5n })]),
    { labels: '{k8s_namespace_name="prod", service_name="api"}', ts: [5n], md: ['{host_name="n1"}'] },
  ],
  [
    'without service.name it is discovered from the labels (k8s_container_name)',
    req(['k8s.container.name', 'web'], [rec({ timeNs: 5n })]),
    { labels: '{k8s_container_name="web", service_name="web"}' },
  ],
  ['nothing to discover: unknown_service', req([], [rec({ timeNs: 5n })]), { labels: '{service_name="unknown_service"}' }],
  // The observed time is then the timestamp, not metadata too.
  ['no time: the observed time', req(['service.name', 'a'], [rec({ observedTimeNs: 7n })]), { ts: [7n], md: undefined }],
  ['neither: the time of the push', req(['service.name', 'a'], [rec()]), { ts: [NOW] }],
  [
    'the record fields, severity to detected_level, trace and span ids',
    req(
      ['service.name', 'a'],
      [
        rec({
          timeNs: 5n,
          observedTimeNs: 6n,
          severityNumber: 17,
          severityText: 'ERROR',
          traceId: 'ab',
          spanId: 'cd',
          flags: 1,
          attributes: ['http.route', '/x'],
        }),
      ],
    ),
    {
      md: [
        '{detected_level="error", flags="1", http_route="/x", observed_timestamp="6", severity_number="17", severity_text="ERROR", span_id="cd", trace_id="ab"}',
      ],
    },
  ],
  [
    'severity text alone (WARNING) still gives detected_level',
    req(['service.name', 'a'], [rec({ timeNs: 5n, severityText: 'Warning' })]),
    { md: ['{detected_level="warn", severity_text="Warning"}'] },
  ],
  [
    "the scope's name, version and attributes; the record's own attribute wins over the resource's of the same name",
    req(['service.name', 'a', 'team', 'res'], [rec({ timeNs: 5n, attributes: ['team', 'rec'] })], {
      name: 'lib',
      version: '1',
      attributes: ['scope.attr', 'x'],
    }),
    { md: ['{scope_attr="x", scope_name="lib", scope_version="1", team="rec"}'] },
  ],
])('%s', (_, r, expected) => {
  expect(one(r)).toMatchObject(expected);
});

test('two resources with the same labels are one stream; records keep their order', () => {
  const r: OtlpLogsRequest = {
    resources: [
      {
        attributes: ['service.name', 'a', 'host.name', 'h1'],
        scopes: [{ name: '', version: '', attributes: [], droppedAttributesCount: 0, records: [rec({ timeNs: 2n, body: 'x' })] }],
      },
      {
        attributes: ['service.name', 'a', 'host.name', 'h2'],
        scopes: [{ name: '', version: '', attributes: [], droppedAttributesCount: 0, records: [rec({ timeNs: 1n, body: 'y' })] }],
      },
    ],
  };
  expect(one(r)).toEqual({ labels: '{service_name="a"}', ts: [2n, 1n], lines: ['x', 'y'], md: ['{host_name="h1"}', '{host_name="h2"}'] });
});
