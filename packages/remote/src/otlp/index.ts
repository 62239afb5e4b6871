export { decodeOtlpMetricsProto } from './decode-pb.js';
export { decodeOtlpMetricsJson } from './decode-json.js';
export { translateOtlp, type TranslateOptions, type Translation } from './translate.js';
export { TRANSLATION_STRATEGIES, formatFloat, labelName, metricName, type TranslationStrategy } from './names.js';
export { encodeExportResponse, encodeStatus } from './response.js';
export type { OtlpRequest } from './model.js';
