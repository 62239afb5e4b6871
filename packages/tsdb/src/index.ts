/** The public surface of @strata/tsdb: what the components, the CLI, tests and benchmarks use. */
export {
  AppendStatus,
  type Appender,
  METRIC_LIMIT_REACHED,
  RECEIVER_SERIES_LIMIT_REACHED,
  SERIES_LIMIT_REACHED,
  type MetricLimitHit,
  type SeriesBudget,
  type TenantStorage,
} from './api.js';
export { ChunkCorruptError, decodeXORBits, decodeXORInto, XOREncoder, XORIterator, xorNumSamples } from './chunkenc/xor.js';
export { STALE_NAN } from './chunkenc/stale.js';
export {
  CounterResetHeader,
  decodeHistogramChunk,
  ENCODING_FLOAT_HISTOGRAM,
  ENCODING_HISTOGRAM,
  FloatHistogramChunkEncoder,
  HistogramChunkEncoder,
  type HistogramSample,
} from './chunkenc/histogram.js';
export { Head } from './head/head.js';
export { DEFAULT_MAX_EXEMPLARS, ExemplarStatus, ExemplarStore, type Exemplar, type SeriesExemplars } from './exemplars/store.js';
export { TSDB, TenantDB } from './db.js';
export { MetaInvalidError, parseMeta, type BlockMeta } from './block/meta.js';
export { FileByteSource, type ByteSource } from './block/bytesource.js';
export { writeBlock, type BlockChunk, type BlockSeries } from './block/writer.js';
export { BlockWriter, type BlockWriterOptions } from './block/block-writer.js';
export { compareBytes, compareLabelsBytes } from './block/format.js';
export { BlockCorruptError } from './block/corrupt.js';
export { readSeriesInOrder, type ReadSeriesOptions, type StreamedSeries } from './block/series-stream.js';
export {
  compactBlocks,
  type CompactBlocksOptions,
  type CompactBlocksResult,
  type CompactionSource,
  type CompactionStats,
  type Tombstone,
} from './block/compact-blocks.js';
export { IndexCorruptError } from './block/encbuf.js';
export { IndexReader } from './block/index-reader.js';
export { BlockReader, ENTRY_MERGE_GAP, type BlockSources } from './block/reader.js';
export {
  buildIndexHeader,
  decodeIndexHeader,
  encodeIndexHeader,
  HeaderedSource,
  INDEX_HEADER_FILE,
  type HeaderRange,
} from './block/index-header.js';
export {
  BlockSetQuerier,
  hasRollupParts,
  planBlocks,
  type PartsSeries,
  type Plannable,
  type PlannedBlock,
  type RollupPartsQuerier,
} from './block/block-set.js';
export { downsampleBlock, downsampleBlocks, type DownsampleOptions } from './downsample/downsample-block.js';
export { DDSketch, RELATIVE_ACCURACY } from './downsample/ddsketch.js';
export { RES_1D, RES_1H, RES_5M, RESOLUTIONS } from './downsample/rollup.js';
export { AGGR_ENTRIES_FILE } from './downsample/aggr-entries.js';
export {
  aggregatesFor,
  AGGR_MODES,
  joinParts,
  joinSourceParts,
  modeFor,
  sketchQuantile,
  type AggrMode,
  type ChunkPart,
  type Part,
  type SourcePart,
} from './downsample/rollup-query.js';
export { fromChunks, rollupFromRaw, toChunks as rollupToChunks } from './downsample/rollup.js';
export { decodeRawSeries } from './raw-decode.js';
export { decodeSeriesTypedChunks, encodeSeriesChunks, type TypedChunk } from './series-chunks.js';
export { SegmentCache } from './block/segment-cache.js';
export { WorkerBlockFiles } from './block/worker-files.js';
export { Shipper, SHIPPER_STATE_FILE } from './shipper.js';
export { Shipping } from './shipping.js';
export { registerTsdbMetrics, walFsyncHistogram } from './metrics.js';
export {
  BucketTombstones,
  decodeTombstone,
  deletedIntervals,
  encodeTombstone,
  newTombstone,
  readTenantTombstones,
  tombstoneObjectName,
  TombstoneInvalidError,
  TOMBSTONES_DIR,
  withTombstones,
  withoutIntervals,
  type TenantTombstone,
} from './tombstones.js';
export {
  BUCKET_INDEX_FILE,
  buildBucketIndex,
  decodeBucketIndex,
  encodeBucketIndex,
  type BucketIndex,
  type BucketIndexBlock,
} from './block/bucket-index.js';
export { PostingsIndex } from './head/postings.js';
export { listSegments, segmentName, WAL, type FsyncMode, type ReplayStats, type WalOptions, type WalPosition } from './wal/wal.js';
export { ulid, ulidTime } from './block/ulid.js';
