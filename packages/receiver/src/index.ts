/** The public surface of @strata/receiver: what the CLI wires and the tests and benchmarks drive. */
export { createWriteHandler } from './write-handler.js';
export { Distributor } from './distributor.js';
export { ForwardAuth } from './forward-auth.js';
export { IngestRelabeller } from './ingest-relabel.js';
export { defaultMemoryLimit, MemoryBudget } from './memory-budget.js';
export { MetadataStore } from './metadata-store.js';
export { Writer, type LateSamples } from './writer.js';
