export {
  COUNTER_RESET_HINT_NAMES,
  CUSTOM_BUCKETS_SCHEMA,
  CounterResetHint,
  FloatHistogram,
  IncompatibleSchemaError,
  MAX_EXPONENTIAL_SCHEMA,
  MIN_EXPONENTIAL_SCHEMA,
  bucketBound,
  commonZeroThreshold,
  exponentialBound,
  targetIndex,
  type Bucket,
  type CombineResult,
  type FloatHistogramInit,
  type Span,
} from './histogram.js';
export { Labels, LabelsBuilder, METRIC_NAME, isValidLegacyLabelName, isValidLegacyMetricName } from './labels.js';
export { Matcher, matchesAll, type MatchType } from './matchers.js';
export { compileRegex, compileSearchRegex, type CompiledRegex, type RegexGroups, type SearchRegex } from './regex.js';
export {
  RELABEL_ACTIONS,
  RelabelConfigError,
  expandGo,
  parseRelabelConfigs,
  relabel,
  type RelabelAction,
  type RelabelRule,
} from './relabel.js';
export { pace, setPaceSlice, sortPaced } from './pace.js';
export {
  FINEST_ROLLUP_RESOLUTION,
  mayReadRollups,
  type MetricMetadata,
  type Querier,
  type QueryBudget,
  type Queryable,
  type RollupSamples,
  type RawPart,
  type RawSeries,
  type SelectHints,
  type Series,
} from './storage.js';
export { StrataError, isStrataError, toStrataError, type ErrorId } from './errors.js';
export { bothBudgets } from './budget.js';
export {
  QUERY_SHARD_LABEL,
  inQueryShards,
  parseQueryShard,
  queryShardMatcher,
  seriesShardHash,
  splitQueryShard,
  type QueryShard,
} from './query-shard.js';
export { MergeQuerier, mergeParts, packRawSeries, selectRawIntoOf, selectRawOf } from './merge.js';
export {
  RawPacker,
  emptyRawSizes,
  labelText,
  mergeRawDuplicates,
  rawTransfer,
  releaseBlocks,
  resolveBlocks,
  unpackLabels,
  unpackRaw,
  writeCodeUnits,
  type BlockLease,
  type BlockReads,
  type DeferredBlock,
  type LeasableBlock,
  type PackMark,
  type PackedLabels,
  type RawPackerOptions,
  type PackedRaw,
  type RawPiece,
  type RawSizes,
  type SharedBlockFiles,
} from './raw-pack.js';
export { compareCodeUnits, mergeSorted, sortUnique } from './sorted-merge.js';
export { packHistogramColumn, readHistogramColumn, writeHistogramColumn, histogramColumnLength } from './histogram-pack.js';
export { prometheusLabelsHash, xxhash64 } from './xxhash64.js';
export { checkTenantId, tenantIdProblem } from './tenant-id.js';
export { DistinctSketch, EXACT_MAX, SKETCH_PRECISION, hashKey, hashPairsKey } from './distinct-sketch.js';
export { AnyMap, Template, TemplateError, type TemplateFunc } from './template/go-template.js';
export { formatG, formatValue, GoStruct, sprintf } from './template/go-format.js';
export { mulberry32 } from './prng.js';
