/**
 * The text `strata tools cardinality` prints: a tenant's top metrics, labels and label pairs
 * (/api/v1/status/tsdb) and what grew within a window (/api/v1/cardinality/growth), read from a
 * running querier (cluster-wide, replicas counted once) or a single receiver.
 */
import type { GrowthAnswer } from './cardinality-growth.js';

export interface CardinalityReportOptions {
  /** Base URL of a querier or receiver (e.g. http://localhost:9009). */
  url: string;
  tenant: string;
  tenantHeader: string;
  limit: number;
  /** Prometheus duration, 1m..1h. */
  window: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

interface TsdbStatus {
  headStats: { numSeries: number; numLabelPairs: number };
  seriesCountByMetricName: { name: string; value: number }[];
  labelValueCountByLabelName: { name: string; value: number }[];
  seriesCountByLabelValuePair: { name: string; value: number }[];
}

async function getJson(o: CardinalityReportOptions, path: string): Promise<unknown> {
  const f = o.fetch ?? fetch;
  const url = `${o.url.replace(/\/+$/, '')}${path}`;
  const r = await f(url, { headers: { [o.tenantHeader]: o.tenant }, signal: AbortSignal.timeout(o.timeoutMs) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Columns padded to their widest cell; numbers right-aligned. */
function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : typeof rows[0]?.[i] === 'number' ? c.padStart(widths[i]) : c.padEnd(widths[i])))
          .join('  ')
          .trimEnd(),
      )
      .map((l) => `  ${l}`)
      .join('\n') + '\n'
  );
}

export function formatCardinalityReport(tenant: string, status: TsdbStatus, growth: GrowthAnswer, window: string): string {
  const out: string[] = [];
  out.push(`Tenant ${tenant}: ${status.headStats.numSeries} active series, ${status.headStats.numLabelPairs} label pairs\n`);
  const section = (title: string, header: string[], rows: (string | number)[][]) => {
    out.push(`\n${title}\n`);
    out.push(rows.length > 0 ? table(header, rows) : '  (none)\n');
  };
  section(
    'Top metrics by series',
    ['SERIES', 'METRIC'],
    status.seriesCountByMetricName.map((e) => [e.value, e.name]),
  );
  section(
    'Top labels by distinct values',
    ['VALUES', 'LABEL'],
    status.labelValueCountByLabelName.map((e) => [e.value, e.name]),
  );
  section(
    'Top label pairs by series',
    ['SERIES', 'PAIR'],
    status.seriesCountByLabelValuePair.map((e) => [e.value, e.name]),
  );
  section(
    `Series created in the last ${window}`,
    ['CREATED', 'PER MIN', 'NEW VALUES', 'FASTEST LABEL', 'METRIC'],
    growth.metrics.map((m) => [
      m.series_created,
      m.series_created_per_minute,
      m.labels[0]?.new_values ?? 0,
      m.fastest_growing_label ?? '-',
      m.metric,
    ]),
  );
  return out.join('');
}

export async function cardinalityReport(o: CardinalityReportOptions): Promise<string> {
  const [status, growth] = await Promise.all([
    getJson(o, `/api/v1/status/tsdb?limit=${o.limit}`) as Promise<{ data: TsdbStatus }>,
    getJson(o, `/api/v1/cardinality/growth?window=${encodeURIComponent(o.window)}&limit=${o.limit}`) as Promise<GrowthAnswer>,
  ]);
  return formatCardinalityReport(o.tenant, status.data, growth, o.window);
}
