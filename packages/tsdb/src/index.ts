/** The public surface of @strata/tsdb: what the components, the CLI, tests and benchmarks use. */
export { AppendStatus, SERIES_LIMIT_REACHED, type TenantStorage } from './api.js';
export { ChunkCorruptError, decodeXORBits, decodeXORInto, XOREncoder, XORIterator } from './chunkenc/xor.js';
export { STALE_NAN } from './chunkenc/stale.js';
export { Head } from './head/head.js';
export { TSDB, TenantDB } from './db.js';
export { parseMeta, type BlockMeta } from './block/meta.js';
export { FileByteSource, type ByteSource } from './block/bytesource.js';
export { writeBlock, type BlockChunk, type BlockSeries } from './block/writer.js';
export { IndexCorruptError } from './block/encbuf.js';
export { IndexReader } from './block/index-reader.js';
export { BlockReader, type BlockSources } from './block/reader.js';
export {
  buildIndexHeader,
  decodeIndexHeader,
  encodeIndexHeader,
  HeaderedSource,
  INDEX_HEADER_FILE,
  type HeaderRange,
} from './block/index-header.js';
export { BlockSetQuerier } from './block/block-set.js';
export { decodeRawSeries } from './raw-decode.js';
export { SegmentCache } from './block/segment-cache.js';
export { Shipper, SHIPPER_STATE_FILE } from './shipper.js';
export { Shipping } from './shipping.js';
export { registerTsdbMetrics, walFsyncHistogram } from './metrics.js';
