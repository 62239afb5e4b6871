export { PbReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './pb-reader.js';
export { PbWriter } from './pb-writer.js';
export {
  RELABELLED_LABELS,
  WriteBatch,
  metricTypeToProto,
  type ExemplarRecord,
  type MetadataRecord,
  type SeriesRecord,
} from './write-batch.js';
export {
  decodeWriteRequestV1,
  encodedLabelsV1,
  encodeLabelFieldsV1,
  encodeWriteRequestV1,
  wireLabelsEqual,
  writeBatchOfSamplesV1,
  type EncodedLabels,
  type MetadataToWrite,
  type SeriesToWrite,
} from './write-v1.js';
export { decodeWriteRequestV2, encodeWriteRequestV2, type SeriesToWriteV2 } from './write-v2.js';
export { HistogramTable, rowToFloatHistogram, wireFromFloatHistogram, type WireHistogram } from './histogram-table.js';
export { decodeHistogram, encodeHistogram } from './histogram-wire.js';
export { snappyDecode, snappyEncode } from './snappy.js';
export { SHARE_CONTENT_TYPE, decodeShare, encodeShare } from './forwarded-share.js';
export {
  CHUNK_TYPE_FLOAT_HISTOGRAM,
  CHUNK_TYPE_HISTOGRAM,
  CHUNK_TYPE_XOR,
  RESPONSE_SAMPLES,
  RESPONSE_STREAMED_XOR_CHUNKS,
  decodeChunkedFrames,
  decodeReadRequest,
  decodeReadResponse,
  encodeChunkedFrame,
  encodeReadRequest,
  encodeReadResponse,
  type ChunkToSend,
  type SeriesSamples,
} from './read.js';
export {
  MAX_SELECTABLE_SERIES,
  SERIES_SELECTION_HEADER,
  decodeSeriesSelection,
  encodeSeriesSelection,
  isSelected,
} from './series-selection.js';
export {
  TRANSLATION_STRATEGIES,
  decodeOtlpMetricsJson,
  decodeOtlpMetricsProto,
  encodeExportResponse,
  encodeStatus,
  formatFloat,
  labelName,
  metricName,
  translateOtlp,
  type OtlpRequest,
  type TranslateOptions,
  type TranslationStrategy,
  type Translation,
  decodeOtlpLogsJson,
  decodeOtlpLogsProto,
  type OtlpLogRecord,
  type OtlpLogResource,
  type OtlpLogScope,
  type OtlpLogsRequest,
} from './otlp/index.js';
