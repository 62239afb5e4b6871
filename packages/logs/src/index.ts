export type { LogDirection, LogQuerier, LogQueryable, LogSelectHints, LogStreamEntries } from './types.js';
export { decodePushBody, type PushBodyHeaders } from './push/decode-body.js';
export { decodePushRequestProto, type DecodedPush } from './push/decode-proto.js';
export { decodePushRequestJson } from './push/decode-json.js';
export { encodePushRequestProto, type StreamToPush } from './push/encode-proto.js';
export { labelsFromPairs, parseLabelsText } from './push/labels-text.js';
export { lineBytes, type PushStream } from './push/push-stream.js';
export { decodeLogShare, encodeLogShare, LOG_SHARE_CONTENT_TYPE } from './push/log-share.js';
export { OTLP_INDEX_RESOURCE_ATTRIBUTES, otlpLogsToStreams } from './push/otlp-logs.js';
export { BlockCorruptError, encodeBlock, type BlockCompression, type EncodedBlock } from './chunk/block-codec.js';
export { LogHead, type LogHeadOptions, type LogHeadStats } from './head/log-head.js';
export { LOKI_LIMIT_DEFAULTS, logLimitsOf, type LogLimits } from './ingest/log-limits.js';
export { truncateUtf8, validatePush, type StreamState, type ValidateOptions, type ValidationResult } from './ingest/validate.js';
export { ByteRateLimiter } from './ingest/byte-rate.js';
export { LogStore, type LogStoreOptions } from './store/log-store.js';
export { mergeStreams } from './store/merge-streams.js';
export {
  computeVolumes,
  DEFAULT_VOLUME_LIMIT,
  DEFAULT_VOLUME_MAX_SERIES,
  volumeBuckets,
  volumeMatchers,
  type VolumeAggregateBy,
  type VolumeBucket,
  type VolumeRequest,
  type VolumeSeries,
} from './store/volume.js';
export { syntheticLine, syntheticStreams, type SyntheticStream } from './chunk/synthetic-logs.js';
export { entryHash, sampleStreams, type SampleResult } from './ingest/sample.js';
export {
  addSampledOut,
  BlockSampledOut,
  SampledOutTally,
  sampledOutTotal,
  type SampledOutBlockCount,
  type SampledOutCount,
  type SampledOutStream,
} from './ingest/sampled-out.js';
export type { Expr as LogqlExpr, LineFilterStage, LogExpr, SampleExpr as LogqlSampleExpr } from './logql/ast.js';
export { andPredicates, lineFilterPredicate } from './logql/pipeline.js';
export { parseLogql } from './logql/parser.js';
export { LogqlParseError } from './logql/lexer.js';
export {
  evaluateLogql,
  selectHints,
  type LogqlQueryOptions,
  type LogqlResult,
  type LogqlSeries,
  type LogqlStats,
  type LogqlStream,
} from './logql/engine.js';
export { formatLogql } from './logql/format.js';
export {
  buildLogBlock,
  logBlocksPrefix,
  parseLogIndex,
  parseLogIndexWithSampledOut,
  parseLogMeta,
  uploadLogBlock,
  LogBlockWriter,
  LOG_BLOCKS_DIR,
  LOG_CHUNKS_FILE,
  LOG_INDEX_FILE,
  LOG_META_FILE,
  type LogBlockMeta,
  type LogIndex,
} from './block/log-block.js';
export { BucketLogs, LOG_DELETION_MARK_FILE, type BucketLogsOptions, type LogReadBucket } from './block/bucket-logs.js';
export { mergeLogQueriers, mergeLogQueryables } from './block/merge-queriers.js';
export {
  LogSourceCorruptError,
  mergeLogBlocks,
  type LogMergeOptions,
  type LogMergeResult,
  type LogMergeSource,
} from './block/merge-log-blocks.js';
export {
  pollTail,
  TailCursor,
  tailMessage,
  TAIL_MAX_DROPPED_PER_MESSAGE,
  TAIL_MAX_ENTRIES_PER_MESSAGE,
  type TailCursorOptions,
  type TailDropped,
  type TailEntry,
  type TailPoll,
  type TailStreamInput,
  type TailWindow,
} from './tail/tail-cursor.js';
