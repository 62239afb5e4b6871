export { hashString } from './hash.js';
export { owners } from './rendezvous.js';
export { Hashrings, InsufficientEndpointsError, writeQuorum, type Hashring } from './hashring.js';
export { watchHashrings } from './watcher.js';
