/** Strata's own metrics about the TSDB: head series and time range per tenant, WAL fsyncs. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TSDB } from './db.js';

export function walFsyncHistogram(registry: Registry): Histogram {
  return new Histogram({
    name: 'strata_wal_fsync_duration_seconds',
    help: 'Duration of WAL fsyncs; every acknowledged write waited for one (shared by concurrent writes).',
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
}

export function registerTsdbMetrics(registry: Registry, db: () => TSDB | undefined): void {
  new Gauge({
    name: 'strata_head_series',
    help: 'Active series in the head, by tenant.',
    labelNames: ['tenant'],
    registers: [registry],
    collect() {
      const d = db();
      if (!d) return;
      for (const t of d.tenants()) this.set({ tenant: t }, d.openTenant(t)?.stats().numSeries ?? 0);
    },
  });
  new Gauge({
    name: 'strata_head_max_time_seconds',
    help: 'Newest sample timestamp in the head, by tenant.',
    labelNames: ['tenant'],
    registers: [registry],
    collect() {
      const d = db();
      if (!d) return;
      for (const t of d.tenants()) {
        const max = d.openTenant(t)?.stats().maxTime ?? -Infinity;
        if (Number.isFinite(max)) this.set({ tenant: t }, max / 1000);
      }
    },
  });
  new Counter({
    name: 'strata_head_snapshot_unusable_total',
    help: 'Tenant heads opened since start whose snapshot could not be read (truncated, oversized, corrupt) and were rebuilt from the WAL instead.',
    labelNames: ['tenant'],
    registers: [registry],
    collect() {
      const d = db();
      if (!d) return;
      // Each tenant opens once per process: the count is 0 or 1 per tenant, taken from how its head was loaded.
      this.reset();
      for (const t of d.tenants()) if (d.openTenant(t)?.replay.snapshotError !== undefined) this.inc({ tenant: t });
    },
  });
  new Counter({
    name: 'strata_tsdb_block_read_bytes_total',
    help: 'Bytes of local block files read, by the main thread and query workers, by file kind (chunks, index) and source: disk (files loaded whole or read range by range) or memory (the block cache).',
    labelNames: ['kind', 'source'],
    registers: [registry],
    collect() {
      const d = db();
      if (!d) return;
      this.reset();
      for (const kind of ['chunks', 'index'] as const) {
        this.inc({ kind, source: 'disk' }, d.blockCache.stats[kind].diskBytes);
        this.inc({ kind, source: 'memory' }, d.blockCache.stats[kind].cachedBytes);
      }
    },
  });
}
