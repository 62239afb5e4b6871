/** OTLP log records to Loki streams, case by case, as Loki's default OTLP mapping gives them. */
import type { OtlpLogRecord, OtlpLogsRequest } from '@strata/remote';
import { parseOtlpLogsConfig } from '@strata/api';
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

describe("a tenant's otlp_config (Loki's per-tenant mapping)", () => {
  const resource = ['service.name', 'api', 'service.group', 'g1', 'k8s.pod.name', 'p1', 'host.name', 'n1'];
  const r = () =>
    req(resource, [rec({ timeNs: 5n, attributes: ['user.id', 'u1', 'method.name', 'get', 'other', 'x'] })], {
      attributes: ['method.name', 'scoped', 'lib', 'l1'],
    });
  const mapped = (config: unknown) => {
    const s = otlpLogsToStreams(r(), NOW, parseOtlpLogsConfig(config, 'otlp_config'));
    expect(s).toHaveLength(1);
    return { labels: s[0].labels.toString(), md: s[0].metadata?.[0]?.toString() };
  };
  test.each<[string, unknown, { labels: string; md: string }]>([
    [
      'an index_label rule adds to the default list',
      { resource_attributes: { attributes_config: [{ action: 'index_label', attributes: ['service.group'] }] } },
      {
        labels: '{k8s_pod_name="p1", service_group="g1", service_name="api"}',
        md: '{host_name="n1", lib="l1", method_name="get", other="x", user_id="u1"}',
      },
    ],
    [
      'ignore_defaults: only the rules make labels (service_name then discovered or unknown)',
      { resource_attributes: { ignore_defaults: true, attributes_config: [{ action: 'index_label', regex: 'service\\.group' }] } },
      {
        labels: '{service_group="g1", service_name="unknown_service"}',
        md: '{host_name="n1", k8s_pod_name="p1", lib="l1", method_name="get", other="x", service_name="api", user_id="u1"}',
      },
    ],
    [
      'drop and structured_metadata for resource attributes; the regex is anchored',
      {
        resource_attributes: {
          attributes_config: [
            { action: 'drop', regex: 'k8s\\..*' },
            { action: 'structured_metadata', attributes: ['service.name'] },
            { action: 'drop', regex: 'name' },
          ],
        },
      },
      {
        labels: '{service_name="unknown_service"}',
        md: '{host_name="n1", lib="l1", method_name="get", other="x", service_group="g1", service_name="api", user_id="u1"}',
      },
    ],
    [
      'scope and log attributes: the first rule that names one decides',
      {
        scope_attributes: [{ action: 'drop', attributes: ['method.name'] }],
        log_attributes: [
          { action: 'structured_metadata', attributes: ['user.id'] },
          { action: 'drop', regex: '.*' },
        ],
      },
      { labels: '{k8s_pod_name="p1", service_name="api"}', md: '{host_name="n1", lib="l1", service_group="g1", user_id="u1"}' },
    ],
    ['an empty config is the default mapping', {}, { labels: '{k8s_pod_name="p1", service_name="api"}', md: expect.any(String) }],
  ])('%s', (_, config, want) => {
    expect(mapped(config)).toEqual(want);
  });

  test('without a config the mapping is the default one', () => {
    const s = otlpLogsToStreams(r(), NOW);
    expect(s[0].labels.toString()).toBe('{k8s_pod_name="p1", service_name="api"}');
    expect(s[0].metadata?.[0]?.toString()).toBe(
      '{host_name="n1", lib="l1", method_name="get", other="x", service_group="g1", user_id="u1"}',
    );
  });
});

test.each<[string, unknown, RegExp]>([
  ['not a mapping', [], /expected a mapping/],
  ['an unknown field', { resource: {} }, /unknown field "resource"/],
  ['an unknown action', { log_attributes: [{ action: 'keep', attributes: ['a'] }] }, /action must be one of structured_metadata, drop/],
  ['index_label outside resource attributes', { scope_attributes: [{ action: 'index_label', attributes: ['a'] }] }, /must be one of/],
  ['a rule naming nothing', { log_attributes: [{ action: 'drop' }] }, /needs attributes or a regex/],
  ['a bad regex', { log_attributes: [{ action: 'drop', regex: '(' }] }, /regex/],
  ['ignore_defaults not a boolean', { resource_attributes: { ignore_defaults: 'yes' } }, /ignore_defaults must be true or false/],
  ['attributes not a list of names', { log_attributes: [{ action: 'drop', attributes: 'a' }] }, /attributes must be a list/],
])('otlp_config refused: %s', (_, config, message) => {
  expect(() => parseOtlpLogsConfig(config, 'otlp_config')).toThrow(message);
});
