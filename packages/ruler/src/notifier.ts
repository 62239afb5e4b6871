/**
 * Sends alerts to Alertmanagers (API v2, POST /api/v2/alerts): a bounded queue (the oldest
 * alerts dropped and counted when full), batches of at most maxBatch alerts sent to every
 * Alertmanager in parallel, retried with backoff; external labels added to each alert (the
 * alert's own label wins), generatorURL pointing at the expression.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Alert } from './alert.js';

export interface NotifierOptions {
  /** Alertmanager base URLs, e.g. http://alertmanager:9093. */
  urls: readonly string[];
  externalLabels?: ReadonlyMap<string, string>;
  externalURL?: string;
  queueCapacity?: number;
  maxBatch?: number;
  timeoutMs?: number;
  retries?: number;
  /** Header naming the tenant, for a multi-tenant Alertmanager (Mimir's); unset: none. */
  tenantHeader?: string;
  registry?: Registry;
  logger?: Logger;
}

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export class Notifier {
  private readonly queue: { tenant: string; alert: AlertmanagerAlert }[] = [];
  private sending = false;
  private stopped = false;
  private readonly dropped: Counter;
  private readonly sent: Counter<'alertmanager'>;
  private readonly errors: Counter<'alertmanager'>;
  private readonly capacity: number;
  private readonly maxBatch: number;
  private idle: Promise<void> = Promise.resolve();

  constructor(readonly opts: NotifierOptions) {
    const registers = opts.registry ? [opts.registry] : [];
    this.capacity = opts.queueCapacity ?? 10_000;
    this.maxBatch = opts.maxBatch ?? 256;
    this.dropped = new Counter({
      name: 'strata_ruler_notifications_dropped_total',
      help: 'Alerts dropped: the queue was full or every send failed.',
      registers,
    });
    this.sent = new Counter({
      name: 'strata_ruler_notifications_sent_total',
      help: 'Alerts sent, per Alertmanager.',
      labelNames: ['alertmanager'],
      registers,
    });
    this.errors = new Counter({
      name: 'strata_ruler_notifications_errors_total',
      help: 'Failed sends of a batch, per Alertmanager (after retries).',
      labelNames: ['alertmanager'],
      registers,
    });
    const q = this.queue;
    new Gauge({
      name: 'strata_ruler_notifications_queue_length',
      help: 'Alerts waiting to be sent.',
      registers,
      collect() {
        this.set(q.length);
      },
    });
    new Gauge({ name: 'strata_ruler_notifications_queue_capacity', help: 'Capacity of the alert queue.', registers }).set(this.capacity);
  }

  /** The Alertmanager form of an alert: startsAt when it fired, endsAt when it resolved or when it stops being valid. */
  toAlertmanager(a: Alert, expr: string): AlertmanagerAlert {
    const labels: Record<string, string> = {};
    for (const [k, v] of this.opts.externalLabels ?? []) labels[k] = v;
    a.labels.forEach((k, v) => (labels[k] = v));
    const base = (this.opts.externalURL ?? '').replace(/\/$/, '');
    return {
      labels,
      annotations: Object.fromEntries(a.annotations),
      startsAt: new Date(a.firedAt || a.activeAt).toISOString(),
      endsAt: new Date(a.resolvedAt || a.validUntil).toISOString(),
      generatorURL: `${base}/graph?g0.expr=${queryEscape(expr)}&g0.tab=1`,
    };
  }

  /** Queues alerts: the NotifyFunc the rule groups call. */
  readonly notify = (tenant: string, expr: string, alerts: readonly Alert[]): void => {
    if (this.opts.urls.length === 0 || this.stopped) return;
    for (const a of alerts) this.queue.push({ tenant, alert: this.toAlertmanager(a, expr) });
    const over = this.queue.length - this.capacity;
    if (over > 0) {
      this.queue.splice(0, over);
      this.dropped.inc(over);
    }
    if (!this.sending) this.idle = this.drain();
  };

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        // One batch is one tenant's alerts.
        const tenant = this.queue[0].tenant;
        let n = 0;
        while (n < this.queue.length && n < this.maxBatch && this.queue[n].tenant === tenant) n++;
        const batch = this.queue.splice(0, n).map((q) => q.alert);
        const results = await Promise.all(this.opts.urls.map((u) => this.sendTo(u, tenant, batch)));
        if (!results.some(Boolean)) this.dropped.inc(batch.length);
      }
    } finally {
      this.sending = false;
    }
  }

  private async sendTo(url: string, tenant: string, batch: AlertmanagerAlert[]): Promise<boolean> {
    const body = JSON.stringify(batch);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.tenantHeader) headers[this.opts.tenantHeader] = tenant;
    const retries = this.opts.retries ?? 3;
    let lastErr = '';
    for (let attempt = 0; attempt <= retries && !this.stopped; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      try {
        const res = await fetch(`${url.replace(/\/$/, '')}/api/v2/alerts`, {
          method: 'POST',
          body,
          headers,
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          this.sent.inc({ alertmanager: url }, batch.length);
          return true;
        }
        lastErr = `HTTP ${res.status}`;
        // A 4xx other than 429 will not get better.
        if (res.status >= 400 && res.status < 500 && res.status !== 429) break;
      } catch (e) {
        lastErr = (e as Error).message;
      }
    }
    this.errors.inc({ alertmanager: url });
    this.opts.logger?.warn({ alertmanager: url, alerts: batch.length, err: lastErr }, 'alerts not delivered');
    return false;
  }

  /** Sends what is queued (bounded by the timeout), then stops. */
  async stop(): Promise<void> {
    await Promise.race([this.idle, new Promise((r) => setTimeout(r, 5000).unref())]);
    this.stopped = true;
  }

  /** Resolves when the queue is empty: for tests. */
  async flushed(): Promise<void> {
    while (this.sending || this.queue.length > 0) await this.idle;
  }
}
