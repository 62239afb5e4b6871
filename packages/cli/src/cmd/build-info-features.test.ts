import { loadConfig } from '../config.js';
import { buildInfoFeatures } from './common.js';

const cfg = (flags: Record<string, string>) => loadConfig(new Map(Object.entries(flags)));

describe("buildinfo's features, as Grafana reads them", () => {
  test.each([
    ['all', {}, { ruler_config_api: 'true', query_sharding: 'false' }],
    ['all', { 'limits.query-sharding-total-shards': '4' }, { ruler_config_api: 'true', query_sharding: 'true' }],
    // Without the frontend in front of its querier, `all` does not shard whatever the limit says.
    [
      'all',
      { 'limits.query-sharding-total-shards': '4', 'query-frontend.enabled': 'false' },
      { ruler_config_api: 'true', query_sharding: 'false' },
    ],
    ['ruler', {}, { ruler_config_api: 'true', query_sharding: 'false' }],
    ['query-frontend', { 'limits.query-sharding-total-shards': '8' }, { ruler_config_api: 'false', query_sharding: 'true' }],
    // One shard is no sharding.
    ['query-frontend', { 'limits.query-sharding-total-shards': '1' }, { ruler_config_api: 'false', query_sharding: 'false' }],
    ['querier', { 'limits.query-sharding-total-shards': '8' }, { ruler_config_api: 'false', query_sharding: 'false' }],
    ['receiver', {}, { ruler_config_api: 'false', query_sharding: 'false' }],
    ['store-gateway', {}, { ruler_config_api: 'false', query_sharding: 'false' }],
  ])('%s %j', (name, flags, want) => {
    expect(buildInfoFeatures(cfg(flags), name)).toEqual({ ...want, alertmanager_config_api: 'false', federated_rules: 'false' });
  });
});
