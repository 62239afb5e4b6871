/** The public surface of @strata/receiver: what the CLI wires and the tests and benchmarks drive. */
export { createWriteHandler, createWritePath, type WritePath } from './write-handler.js';
export { createOtlpHandler, type OtlpHandlerConfig } from './otlp-handler.js';
export { Distributor } from './distributor.js';
export { ForwardAuth } from './forward-auth.js';
export { IngestRelabeller } from './ingest-relabel.js';
export { defaultMemoryLimit, MemoryBudget } from './memory-budget.js';
export { MetadataStore } from './metadata-store.js';
export { Writer, type LateSamples } from './writer.js';
export { StreamAggregation, type OutputSample, type PartialRecord } from './stream-aggr/aggregator.js';
export { createStreamAggregation, outputWriter, PARTIALS_CONTENT_TYPE, type StreamAggregationWiring } from './stream-aggr/wiring.js';
export { OTHER_METRIC, SeriesGrowth, type SeriesGrowthOptions } from './series-growth.js';
export {
  createLogPushHandler,
  createLogPushPath,
  type LogPushConfig,
  type LogPushOptions,
  type LogPushPath,
  type LogSink,
} from './log-push.js';
export { createOtlpLogsHandler, type OtlpLogsHandlerOptions } from './otlp-logs-handler.js';
