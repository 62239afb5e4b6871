export { Router, type Handler } from './router.js';
export { failure, sendResult, success, type ApiResult } from './respond.js';
export { parseDurationParam, parsePromDuration, parseResolution, parseTime, readParams } from './params.js';
export { tenantOf, type TenancyConfig } from './tenant.js';
export { HttpServer, splitHostPort } from './server.js';
export { labelNamesHandler, labelValuesHandler, seriesHandler } from './series-api.js';
export { mountHashringStatus, mountStatusRoutes } from './status-api.js';
export { createRemoteReadHandler } from './remote-read.js';
export { mountTsdbStatus } from './tsdb-status.js';
export { mountAdminApi, type AdminApiDeps } from './admin-api.js';
export { mountCardinalityApi } from './cardinality-api.js';
export { limitsAsYamlKeys, mountLimitsApi, type LimitsApiDeps } from './limits-api.js';
export { WebConfigError, loadWebConfig } from './web-config.js';
export { WebConfigWatcher } from './web-guard.js';
export { HttpClient, HttpClientConfigError, loadHttpClientConfig } from './http-client.js';
export { parseLogSamplingConfig, type LogSamplingConfig, type LogSamplingKeepRule } from './log-sampling-config.js';
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
