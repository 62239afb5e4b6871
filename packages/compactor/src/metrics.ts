/** The compactor's metrics (strata_compactor_*). */
import { Counter, Gauge, type Registry } from 'prom-client';

export class CompactorMetrics {
  readonly passes: Counter<'result'>;
  readonly groupsPlanned: Counter;
  readonly compactions: Counter<'kind' | 'result'>;
  readonly downsamplings: Counter<'resolution' | 'result'>;
  readonly bytesWritten: Counter;
  readonly blocksMarked: Counter<'mark' | 'reason'>;
  readonly blocksDeleted: Counter;
  readonly partialDeleted: Counter;
  readonly overlapsMerged: Counter;
  readonly conflictingSamples: Counter;
  readonly lastSuccess: Gauge<'tenant'>;
  readonly halted: Gauge;

  constructor(r: Registry) {
    const registers = [r];
    this.passes = new Counter({
      name: 'strata_compactor_passes_total',
      help: 'Compactor passes, by result.',
      labelNames: ['result'],
      registers,
    });
    this.groupsPlanned = new Counter({
      name: 'strata_compactor_groups_planned_total',
      help: 'Compaction plans made (a set of blocks of one group to merge).',
      registers,
    });
    this.compactions = new Counter({
      name: 'strata_compactor_compactions_total',
      help: 'Compactions run, by kind (vertical: overlapping blocks; level: blocks of one range; tombstones: a block rewritten without deleted series) and result (done, failed).',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.downsamplings = new Counter({
      name: 'strata_compactor_downsamplings_total',
      help: 'Downsamplings run, by target resolution and result (done, failed).',
      labelNames: ['resolution', 'result'],
      registers,
    });
    this.bytesWritten = new Counter({ name: 'strata_compactor_bytes_written_total', help: 'Bytes of new blocks uploaded.', registers });
    this.blocksMarked = new Counter({
      name: 'strata_compactor_blocks_marked_total',
      help: 'Marks written, by mark (deletion, no-compact) and reason (compacted, superseded, retention, block-corrupt).',
      labelNames: ['mark', 'reason'],
      registers,
    });
    this.blocksDeleted = new Counter({
      name: 'strata_compactor_blocks_deleted_total',
      help: 'Blocks deleted from the bucket after their deletion delay.',
      registers,
    });
    this.partialDeleted = new Counter({
      name: 'strata_compactor_partial_uploads_deleted_total',
      help: 'Abandoned partial uploads (a block folder without meta.json) deleted.',
      registers,
    });
    this.overlapsMerged = new Counter({
      name: 'strata_compactor_overlapping_blocks_merged_total',
      help: 'Source blocks merged by vertical compaction (blocks that overlapped another).',
      registers,
    });
    this.conflictingSamples = new Counter({
      name: 'strata_compactor_conflicting_samples_total',
      help: 'Samples of merged series with the same timestamp and different values; one value is kept by a fixed rule.',
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'strata_compactor_last_successful_pass_timestamp_seconds',
      help: 'When the last pass over a tenant finished without a failure (Unix seconds).',
      labelNames: ['tenant'],
      registers,
    });
    this.halted = new Gauge({
      name: 'strata_compactor_halted',
      help: 'Always 0: the compactor marks what it cannot compact and goes on instead of halting.',
      registers,
    });
    this.halted.set(0);
  }
}
