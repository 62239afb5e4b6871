export { Router, type Handler, type UpgradeHandler } from './router.js';
export { bodyChunks, EncodedJson, failure, sendResult, success, writeUpgradeError, type ApiResult } from './respond.js';
export { parseDurationParam, parsePromDuration, parseResolution, parseTime, readParams } from './params.js';
export { tenantOf, type TenancyConfig } from './tenant.js';
export { HttpServer, splitHostPort } from './server.js';
export { labelNamesHandler, labelValuesHandler, seriesHandler } from './series-api.js';
export { mountHashringStatus, mountStatusRoutes, type BuildInfoFeatures } from './status-api.js';
export { createRemoteReadHandler } from './remote-read.js';
export {
  CHUNK_TYPE_ROLLUP_PART,
  decodeRollupParts,
  decodeSeriesChunks,
  MAX_SOURCE_RESOLUTION_HEADER,
  ROLLUP_PARTS_HEADER,
} from './rollup-read.js';
export { DEFAULT_TSDB_STATUS_LIMIT, mountTsdbStatus, tsdbStatusLimitOf } from './tsdb-status.js';
export { mountAdminApi, type AdminApiDeps } from './admin-api.js';
export {
  activeSeries,
  labelNamesOf,
  limitOf as cardinalityLimitOf,
  mountCardinalityApi,
  requiredSelector,
  sketchRequestOf,
  CARDINALITY_DEFAULT_LIMIT,
  type CardinalitySource,
} from './cardinality-api.js';
export {
  buildSketches,
  decodeSketches,
  emptySketches,
  encodeSketches,
  mergeSketchesInto,
  pairKey,
  type CardinalitySketches,
  type SketchRequest,
} from './cardinality-sketches.js';
export { labelNamesFromSketches, labelValuesFromSketches, tsdbStatusFromSketches } from './cardinality-answers.js';
export {
  decodeGrowth,
  encodeGrowth,
  growthAnswer,
  growthParams,
  mergeGrowthInto,
  GROWTH_MAX_WINDOW_MS,
  type GrowthAnswer,
  type GrowthSketches,
  type MetricGrowth,
} from './cardinality-growth.js';
export { limitsAsYamlKeys, mountLimitsApi, type LimitsApiDeps } from './limits-api.js';
export { WebConfigError, loadWebConfig } from './web-config.js';
export { WebConfigWatcher } from './web-guard.js';
export { HttpClient, HttpClientConfigError, loadHttpClientConfig } from './http-client.js';
export { parseLogSamplingConfig, type LogSamplingConfig, type LogSamplingKeepRule } from './log-sampling-config.js';
export {
  otlpAttributeAction,
  parseOtlpLogsConfig,
  type OtlpAttributeAction,
  type OtlpAttributeRule,
  type OtlpLogsConfig,
} from './otlp-logs-config.js';
export {
  LIMIT_FLAGS,
  LIMIT_YAML_KEYS,
  QUERY_LIMIT_FLAGS,
  limitHint,
  Limits,
  LimitsFileError,
  parseOverrides,
  type LimitsFileStatus,
  type LimitsOptions,
  type QueryLimit,
  type ReceiverLimit,
  type TenantLimits,
} from './limits.js';
export {
  parseStreamAggrConfig,
  STREAM_AGGR_OUTPUTS,
  type StreamAggrOutput,
  type StreamAggrOutputKind,
  type StreamAggrRule,
} from './stream-aggregation-config.js';
export { cardinalityReport, formatCardinalityReport, type CardinalityReportOptions } from './cardinality-report.js';
export {
  decodeLateDataAnswer,
  LATE_DATA_ANSWER_LIMIT,
  LATE_DATA_FRESHNESS_PARAM,
  LATE_DATA_PATH,
  LateDataLog,
  lateDataPath,
  mountLateDataApi,
  type LateDataAnswer,
  type LateDataBump,
} from './late-data.js';
