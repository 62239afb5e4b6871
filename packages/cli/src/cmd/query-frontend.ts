/** `strata query-frontend`: the read API in front of queriers (--query-frontend.downstream-url). */
import { HttpDownstream, LateDataPoller, QuerierPool } from '@strata/query-frontend';
import type { Config } from '../config.js';
import { component, httpClientFrom, list, waitForSignal } from './common.js';
import { frontendFrom } from './frontend-from-config.js';
import { limitsFrom } from './limits-from-config.js';

export async function runQueryFrontend(cfg: Config): Promise<void> {
  const c = component(cfg, 'query-frontend');
  const urls = list(cfg.str('query-frontend.downstream-url'));
  if (urls.length === 0) throw new Error('strata query-frontend needs --query-frontend.downstream-url (the querier to send queries to)');
  const limits = limitsFrom(cfg, c.logger);
  // A sub-query may take as long as the queriers allow, plus the time to send its answer.
  const client = httpClientFrom(cfg.str('query-frontend.downstream-client-config-file'));
  const http = (url: string) => new HttpDownstream({ url: client.urlOf(url), timeoutMs: cfg.num('query.timeout') + 30_000, client });
  const members = urls.map((url) => ({ name: url, downstream: http(url) }));
  const downstream =
    members.length === 1 ? members[0].downstream : new QuerierPool(members, (t) => limits.forTenant(t).maxQueriersPerTenant ?? 0);
  const { frontend, generations, cache } = frontendFrom(cfg, downstream, c.tenancy, c.registry, c.logger, limits);
  frontend.mount(c.router);
  // Late data lands in receivers behind the queriers: each querier relays their notices.
  const pollMs = cfg.num('query-frontend.late-data-poll-interval');
  const poller =
    pollMs > 0
      ? new LateDataPoller({
          sources: members,
          generations,
          intervalMs: pollMs,
          freshnessMs: cfg.num('query-frontend.max-cache-freshness'),
          timeoutMs: 5_000,
          registry: c.registry,
          logger: c.logger,
        })
      : undefined;
  // The first poll sets the cursors (and invalidates nothing yet cached) before queries are taken.
  await poller?.start();
  const addr = await c.server.listen(cfg.str('http.address'));
  c.setReady(true);
  c.logger.info({ address: `${addr.address}:${addr.port}`, downstream: urls }, 'ready');
  await waitForSignal(c.logger, async () => {
    c.setReady(false);
    poller?.stop();
    await c.server.close();
    downstream.close();
    await cache?.close();
    limits.stop();
  });
}
