/** The public surface of @strata/store-gateway: what the CLI wires. */
export { StoreGateway } from './gateway.js';
export { owners } from './sharding.js';
