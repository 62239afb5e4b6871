export { FNV_PRIME, hashSeries, hashString, mix32, SERIES_HASH_SEPARATOR, seriesHashSeed } from './hash.js';
export { owners } from './rendezvous.js';
export { Hashrings, InsufficientEndpointsError, writeQuorum, type Hashring } from './hashring.js';
export { watchHashrings } from './watcher.js';
