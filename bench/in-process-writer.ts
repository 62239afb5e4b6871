/**
 * A receiver's local write path (Writer over a fresh TSDB, no limits) for the in-process benches,
 * so they measure the same append with the same settings.
 */
import { Registry } from 'prom-client';
import { Limits } from '@strata/api';
import { MetadataStore, Writer } from '@strata/receiver';
import { TSDB } from '@strata/tsdb';
import { tempDir } from '../test/harness.js';

export interface InProcessWriter {
  writer: Writer;
  db: TSDB;
  dir: string;
}

export async function openInProcessWriter(prefix: string, seriesLimitShare?: (tenant: string) => number): Promise<InProcessWriter> {
  const dir = tempDir(prefix);
  const db = await TSDB.open({ dir, fsync: 'batch', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
  const limits = new Limits({
    defaults: {
      ingestionRate: 0,
      ingestionBurstSize: 0,
      maxGlobalSeriesPerUser: 0,
      maxLabelNamesPerSeries: 30,
      maxLabelNameLength: 1024,
      maxLabelValueLength: 2048,
    },
  });
  const writer = new Writer({
    storage: db,
    limits,
    metadata: new MetadataStore(),
    registry: new Registry(),
    creationGracePeriodMs: 3600_000,
    seriesLimitShare,
  });
  return { writer, db, dir };
}
