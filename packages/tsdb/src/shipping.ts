/** One shipper per tenant, synced after every block and periodically (retrying failures). */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { UploadBucket } from './shipper.js';
import { Shipper } from './shipper.js';
import type { TSDB } from './db.js';

export const SHIP_INTERVAL_MS = 30_000;

export class Shipping {
  private readonly shippers = new Map<string, Shipper>();
  private timer: NodeJS.Timeout | undefined;
  private readonly uploaded: Counter<'tenant'>;
  private readonly failures: Counter<'tenant'>;

  constructor(
    private readonly bucket: UploadBucket,
    private readonly db: () => TSDB | undefined,
    private readonly localRetentionMs: number,
    registry: Registry,
    private readonly logger: Logger,
  ) {
    this.uploaded = new Counter({
      name: 'strata_shipper_uploaded_blocks_total',
      help: 'Blocks uploaded to object storage.',
      labelNames: ['tenant'],
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'strata_shipper_upload_failures_total',
      help: 'Failed block uploads (retried).',
      labelNames: ['tenant'],
      registers: [registry],
    });
    const shippers = this.shippers;
    new Gauge({
      name: 'strata_shipper_backlog_blocks',
      help: 'Blocks on local disk waiting to be uploaded.',
      labelNames: ['tenant'],
      registers: [registry],
      collect() {
        for (const [t, s] of shippers) this.set({ tenant: t }, s.backlog);
      },
    });
  }

  private shipper(tenant: string): Shipper | undefined {
    let s = this.shippers.get(tenant);
    const t = this.db()?.openTenant(tenant);
    if (!s && t) {
      s = new Shipper({
        bucket: this.bucket,
        prefix: `${tenant}/`,
        blocksDir: t.blocksDir,
        localRetentionMs: this.localRetentionMs,
        dropLocal: (ulid) => t.dropLocalBlock(ulid),
        logger: this.logger.child({ tenant }),
        onUploaded: () => this.uploaded.inc({ tenant }),
        onFailure: () => this.failures.inc({ tenant }),
      });
      this.shippers.set(tenant, s);
    }
    return s;
  }

  sync(tenant: string): Promise<number> {
    return this.shipper(tenant)?.sync() ?? Promise.resolve(0);
  }

  async syncAll(): Promise<number> {
    let n = 0;
    for (const t of this.db()?.tenants() ?? []) n += await this.sync(t);
    return n;
  }

  start(): void {
    this.timer = setInterval(() => void this.syncAll().catch((e) => this.logger.error({ err: e }, 'shipping failed')), SHIP_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
