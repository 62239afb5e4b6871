/** The public surface of @strata/compactor: what the CLI wires. */
export { groupBlocks, planGroup, superseded, type Group, type Plan } from './planner.js';
export { pastRetention, type RetentionPolicy } from './retention.js';
export { DELETION_MARK_FILE, NO_COMPACT_MARK_FILE, deletionMark, noCompactMark, type DeletionMark, type NoCompactMark } from './marks.js';
export { Compactor, type CompactorOptions, type GroupPass, type GroupStep, type MergeBlocks, type PassSummary } from './compactor.js';
export { BUCKET_INDEX_FILE, decodeBucketIndex, type BucketIndex } from './bucket-index.js';
export { corruptBlockOf, mergeBlocks } from './merge.js';
export { formatInspect, inspectBucket, listTombstones, markBlock, verifyBucket, type InspectRow, type Problem } from './bucket-tools.js';
export {
  DEFAULT_DOWNSAMPLE_AFTER,
  downsampleStep,
  dueForDownsampling,
  type DownsampleAfter,
  type DownsampleStepOptions,
} from './downsample.js';
