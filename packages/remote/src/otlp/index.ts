export { decodeOtlpLogsProto, decodeOtlpMetricsProto } from './decode-pb.js';
export { decodeOtlpLogsJson, decodeOtlpMetricsJson } from './decode-json.js';
export type { OtlpLogRecord, OtlpLogResource, OtlpLogScope, OtlpLogsRequest } from './logs-model.js';
export { translateOtlp, type TranslateOptions, type Translation } from './translate.js';
export { TRANSLATION_STRATEGIES, formatFloat, labelName, metricName, type TranslationStrategy } from './names.js';
export { encodeExportResponse, encodeStatus } from './response.js';
export type { OtlpRequest } from './model.js';
