/**
 * OTLP logs as Loki streams, by Loki's default OTLP mapping (what its `otlp_config` changes, see
 * @strata/api otlp-logs-config.ts, applies first):
 *  - stream labels: the resource attributes of Loki's default list (service.name,
 *    k8s.namespace.name, ... below), names normalised as Prometheus label names (service_name);
 *    without service.name, service_name is discovered from those labels as Loki's
 *    `discover_service_name` does, else "unknown_service";
 *  - the line: the record's body as a string (maps and arrays as JSON);
 *  - the timestamp: time_unix_nano, else observed_time_unix_nano, else the time of the push;
 *  - structured metadata, everything else: the record's attributes, observed_timestamp,
 *    severity_number, severity_text, dropped_attributes_count, flags, trace_id and span_id (hex),
 *    then the other resource attributes, then the scope's attributes, scope_name, scope_version
 *    and scope_dropped_attributes_count; and detected_level from the severity, as Loki's
 *    `discover_log_levels` (on by default) adds it.
 * Nested map attributes stay one JSON value (Loki flattens them into prefixed keys).
 */
import { otlpAttributeAction, type OtlpLogsConfig } from '@strata/api';
import { Labels } from '@strata/model';
import { labelName, type OtlpLogsRequest } from '@strata/remote';
import type { PushStream } from './push-stream.js';

/** Loki's default_resource_attributes_as_index_labels. */
export const OTLP_INDEX_RESOURCE_ATTRIBUTES: readonly string[] = [
  'service.name',
  'service.namespace',
  'service.instance.id',
  'deployment.environment',
  'cloud.region',
  'cloud.availability_zone',
  'k8s.cluster.name',
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.container.name',
  'container.name',
  'k8s.replicaset.name',
  'k8s.deployment.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.cronjob.name',
  'k8s.job.name',
];
const INDEXED = new Set(OTLP_INDEX_RESOURCE_ATTRIBUTES);

/** Loki's discover_service_name default: the stream labels service_name is taken from, in order. */
const SERVICE_NAME_SOURCES = [
  'service',
  'app',
  'application',
  'app_name',
  'name',
  'app_kubernetes_io_name',
  'container',
  'container_name',
  'k8s_container_name',
  'component',
  'workload',
  'job',
  'k8s_job_name',
];

/** OTLP SeverityNumber ranges (TRACE 1-4 ... FATAL 21-24) as Loki's detected_level values. */
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const LEVEL_WORDS = new Set([...LEVELS, 'critical']);

const name = (key: string) => labelName(key, 'UnderscoreEscapingWithSuffixes');

/**
 * The streams of an OTLP logs request, by the tenant's `otlp_config` when it has one (its rules
 * first, then the defaults above for attributes no rule names), else by Loki's default mapping.
 */
export function otlpLogsToStreams(req: OtlpLogsRequest, nowNs: bigint, config?: OtlpLogsConfig): PushStream[] {
  const byKey = new Map<string, PushStream & { metadata: (Labels | undefined)[] }>();
  const indexedByDefault = (k: string) => !config?.ignoreDefaults && INDEXED.has(k);
  for (const res of req.resources) {
    const index: string[] = [];
    const resourceMd: string[] = [];
    let hasServiceName = false;
    for (let i = 0; i < res.attributes.length; i += 2) {
      const k = res.attributes[i];
      const v = res.attributes[i + 1];
      const action = config ? otlpAttributeAction(config.resource, k) : undefined;
      if (action === 'drop') continue;
      if (action === 'index_label' || (action === undefined && indexedByDefault(k))) {
        index.push(name(k), v);
        if (k === 'service.name' && v !== '') hasServiceName = true;
      } else resourceMd.push(name(k), v);
    }
    if (!hasServiceName) index.push('service_name', discoveredServiceName(index));
    const labels = Labels.fromPairs(index);
    const key = labels.key();
    let stream = byKey.get(key);
    if (!stream) {
      stream = { labels, labelsText: labels.toString(), timestampsNs: new BigInt64Array(0), lines: [], metadata: [] };
      byKey.set(key, stream);
    }
    const ts: bigint[] = [...stream.timestampsNs];
    for (const scope of res.scopes) {
      const scopeMd: string[] = [];
      for (let i = 0; i < scope.attributes.length; i += 2)
        if (!config || otlpAttributeAction(config.scope, scope.attributes[i]) !== 'drop')
          scopeMd.push(name(scope.attributes[i]), scope.attributes[i + 1]);
      if (scope.name) scopeMd.push('scope_name', scope.name);
      if (scope.version) scopeMd.push('scope_version', scope.version);
      if (scope.droppedAttributesCount) scopeMd.push('scope_dropped_attributes_count', String(scope.droppedAttributesCount));
      for (const rec of scope.records) {
        const md: string[] = [];
        for (let i = 0; i < rec.attributes.length; i += 2)
          if (!config || otlpAttributeAction(config.log, rec.attributes[i]) !== 'drop')
            md.push(name(rec.attributes[i]), rec.attributes[i + 1]);
        if (rec.timeNs !== 0n && rec.observedTimeNs !== 0n) md.push('observed_timestamp', String(rec.observedTimeNs));
        if (rec.severityNumber !== 0) md.push('severity_number', String(rec.severityNumber));
        if (rec.severityText !== '') md.push('severity_text', rec.severityText);
        if (rec.droppedAttributesCount) md.push('dropped_attributes_count', String(rec.droppedAttributesCount));
        if (rec.flags) md.push('flags', String(rec.flags));
        if (rec.traceId) md.push('trace_id', rec.traceId);
        if (rec.spanId) md.push('span_id', rec.spanId);
        md.push(...resourceMd, ...scopeMd);
        const level = detectedLevel(rec.severityNumber, rec.severityText);
        if (level && !hasName(md, 'detected_level')) md.push('detected_level', level);
        ts.push(rec.timeNs !== 0n ? rec.timeNs : rec.observedTimeNs !== 0n ? rec.observedTimeNs : nowNs);
        stream.lines.push(rec.body);
        // First occurrence wins, as the record's own fields come before the resource's and scope's.
        stream.metadata.push(md.length > 0 ? firstWins(md) : undefined);
      }
    }
    stream.timestampsNs = BigInt64Array.from(ts);
  }
  const out: PushStream[] = [];
  for (const s of byKey.values()) {
    if (s.lines.length === 0) continue;
    out.push(s.metadata.some((m) => m !== undefined) ? s : { ...s, metadata: undefined });
  }
  return out;
}

function discoveredServiceName(index: readonly string[]): string {
  for (const src of SERVICE_NAME_SOURCES) {
    for (let i = 0; i < index.length; i += 2) if (index[i] === src && index[i + 1] !== '') return index[i + 1];
  }
  return 'unknown_service';
}

function detectedLevel(severityNumber: number, severityText: string): string | undefined {
  if (severityNumber >= 1 && severityNumber <= 24) return LEVELS[Math.floor((severityNumber - 1) / 4)];
  const t = severityText.toLowerCase();
  if (t === 'warning') return 'warn';
  return LEVEL_WORDS.has(t) ? t : undefined;
}

function hasName(pairs: readonly string[], n: string): boolean {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === n) return true;
  return false;
}

function firstWins(pairs: readonly string[]): Labels {
  const m = new Map<string, string>();
  for (let i = 0; i < pairs.length; i += 2) if (!m.has(pairs[i])) m.set(pairs[i], pairs[i + 1]);
  return Labels.fromMap(m);
}
