/**
 * `strata compactor`: passes over the bucket every --compactor.interval (compaction, retention,
 * deletion, bucket index), with /metrics on the HTTP port; --compactor.run-once makes one pass
 * and exits (0 when nothing failed).
 */
import path from 'node:path';
import type { Config } from '../config.js';
import { openBucket } from '../storage.js';
import { component, waitForSignal } from './common.js';
import { compactorFrom } from './compactor-from-config.js';
import { limitsFrom } from './limits-from-config.js';

export async function runCompactor(cfg: Config): Promise<number> {
  const c = component(cfg, 'compactor');
  const bucket = openBucket(cfg.str('objstore.config-file'), path.resolve(cfg.str('storage.path')), c.registry);
  const limits = limitsFrom(cfg, c.logger);
  const compactor = compactorFrom(cfg, bucket, c.registry, c.logger, limits);
  if (cfg.bool('compactor.run-once')) {
    const summary = await compactor.runPass();
    c.logger.info(summary, 'compaction pass done');
    limits.stop();
    await bucket.close();
    return summary.failures ? 1 : 0;
  }
  const addr = await c.server.listen(cfg.str('http.address'));
  c.setReady(true);
  c.logger.info({ address: `${addr.address}:${addr.port}` }, 'listening; compacting');
  const loop = compactorLoop(compactor, cfg.num('compactor.interval'), c.logger);
  await waitForSignal(c.logger, async () => {
    c.setReady(false);
    loop.stop();
    await compactor.stop();
    await c.server.close();
    limits.stop();
    await bucket.close();
  });
  return 0;
}

/** Runs a pass now and then every `intervalMs` after the previous one ends. */
export function compactorLoop(
  compactor: { runPass(): Promise<{ failures: number }> },
  intervalMs: number,
  logger: { info(o: object, m: string): void; error(o: object, m: string): void },
): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = () => {
    compactor
      .runPass()
      .then(
        (s) => logger.info(s, 'compaction pass done'),
        (e) => logger.error({ err: (e as Error).message }, 'compaction pass failed'),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(run, intervalMs);
        timer?.unref();
      });
  };
  run();
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
