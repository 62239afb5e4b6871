/** The public surface of @strata/store-gateway: what the CLI wires. */
export { backfillsDataOf, StoreGateway, type StoreGatewayOptions } from './gateway.js';
