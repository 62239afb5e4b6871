/**
 * Loki's live tail, `GET /loki/api/v1/tail` upgraded to a WebSocket, with Loki's parameters
 * (`query`, a log query; `delay_for`, seconds, at most 5; `limit`, default 100; `start`, default an
 * hour ago) and its messages (loghttp.TailResponse: `streams` and `dropped_entries`).
 *
 * Design. Strata's heads have no channel that pushes new entries to tailers, so a tail polls:
 * first the `limit` oldest entries in [start, now - delay_for) as Loki's historic query, then every
 * second (TAIL_DEFAULTS.pollIntervalMs) the window from where the last poll stopped to
 * now - delay_for, over the same sources as query_range (the receivers' heads through the log
 * select API, or the local head in `strata all`, with the bucket's log blocks). TailCursor
 * (@strata/logs) keeps what was sent: windows overlap by two seconds so an entry that becomes
 * visible shortly after its timestamp is still sent, entries already sent are skipped, and each
 * poll's entries go out in timestamp order. An entry whose timestamp is further back than that
 * when it arrives is not sent: delay_for holds entries back so late arrivals (a slower receiver,
 * a batching client) are merged in order. One poll sends at most TAIL_DEFAULTS.batch new entries
 * (a bounded amount of work on the event loop); a cut poll is followed by the next one at once,
 * after the loop has turned, over windows bounded in time so a backlog is not re-read each poll. Messages carry at most 100 entries (Loki's bound); while the client
 * does not keep up (more than TAIL_DEFAULTS.slowClientBytes waiting to be sent), new entries are
 * dropped and reported in the next message's `dropped_entries`, as Loki reports them.
 *
 * Each tenant may have `max_concurrent_tail_requests` (Loki's limit, default 10) tails open on a
 * querier; one more is refused with Loki's 400 before the upgrade. A tail ends when the client
 * goes away (the polling stops with it) or when its sources fail several polls in a row.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Gauge, type Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import { StrataError, toStrataError } from '@strata/model';
import {
  pollTail,
  TailCursor,
  tailMessage,
  TAIL_MAX_DROPPED_PER_MESSAGE,
  TAIL_MAX_ENTRIES_PER_MESSAGE,
  type LogExpr,
  type LogQueryable,
  type TailDropped,
  type TailEntry,
} from '@strata/logs';
import { tenantOf, writeUpgradeError, type Router, type TenancyConfig, type TenantLimits } from '@strata/api';
import { intParam, LOKI_DEFAULTS, parseLokiTime, parseQueryParam, querierOf } from './loki-api.js';

export const LOKI_TAIL_PATH = '/loki/api/v1/tail';

export const TAIL_DEFAULTS = {
  pollIntervalMs: 1000,
  /** How far polls overlap, so entries visible shortly after their timestamps are still sent. */
  overlapNs: 2_000_000_000n,
  /** New entries one poll sends at most. */
  batch: 2000,
  /** Loki's bound of delay_for, seconds. */
  maxDelayForSeconds: 5,
  /** Loki's max_concurrent_tail_requests. */
  maxConcurrentTailRequests: 10,
  /** Bytes waiting to be sent to a client past which new entries are dropped. */
  slowClientBytes: 4 << 20,
  /** Failed polls in a row that end a tail. */
  maxFailedPolls: 5,
  /** A ping this often; a client that has not answered the previous one is gone and its tail ends. */
  pingIntervalMs: 10_000,
};

export interface LokiTailDeps {
  logs: LogQueryable;
  bucketLogs?: LogQueryable;
  tenancy: TenancyConfig;
  limits?: (tenant: string) => TenantLimits;
  registry?: Registry;
  /** For tests: the current time in ns, the poll interval and the bytes waiting past which entries are dropped. */
  nowNs?: () => bigint;
  pollIntervalMs?: number;
  slowClientBytes?: number;
}

interface TailRequest {
  expr: LogExpr;
  delayNs: bigint;
  limit: number;
  startNs: bigint;
}

function tailRequest(params: URLSearchParams, limits: TenantLimits | undefined, nowNs: bigint): TailRequest {
  const expr = parseQueryParam(params);
  if (expr.k !== 'log') throw new StrataError('bad-query', 'tail queries must be log queries; metric queries cannot be tailed');
  const delay = intParam(params, 'delay_for', 0);
  if (delay > TAIL_DEFAULTS.maxDelayForSeconds)
    throw new StrataError('bad-query', `delay_for can't be greater than ${TAIL_DEFAULTS.maxDelayForSeconds}`);
  const limit = intParam(params, 'limit', LOKI_DEFAULTS.limit);
  const max = limits?.maxEntriesLimitPerQuery ?? LOKI_DEFAULTS.maxEntriesLimitPerQuery;
  if (max > 0 && limit > max)
    throw new StrataError(
      'logql-max-entries',
      `max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > ${max})`,
    );
  const startNs = parseLokiTime(params.get('start'), nowNs - LOKI_DEFAULTS.queryRangeSinceNs, 'start');
  return { expr, delayNs: BigInt(delay) * 1_000_000_000n, limit, startNs };
}

function activeGauge(registry: Registry | undefined): Gauge {
  const name = 'strata_querier_tail_active';
  const existing = registry?.getSingleMetric(name);
  if (existing) return existing as Gauge;
  return new Gauge({
    name,
    help: 'Live tails (/loki/api/v1/tail WebSockets) open on this querier.',
    registers: registry ? [registry] : [],
  });
}

export function mountLokiTail(router: Router, deps: LokiTailDeps): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 << 10 });
  const open = new Map<string, number>();
  const gauge = activeGauge(deps.registry);
  const now = deps.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
  router.addUpgrade(LOKI_TAIL_PATH, (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let tenant: string;
    let r: TailRequest;
    try {
      const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
      tenant = tenantOf(req, deps.tenancy);
      const limits = deps.limits?.(tenant);
      r = tailRequest(params, limits, now());
      const max = limits?.maxConcurrentTailRequests ?? TAIL_DEFAULTS.maxConcurrentTailRequests;
      const count = open.get(tenant) ?? 0;
      if (max > 0 && count >= max)
        throw new StrataError(
          'max-concurrent-tail-requests',
          `max concurrent tail requests limit exceeded, count > limit (${count + 1} > ${max})`,
        );
    } catch (e) {
      return writeUpgradeError(socket, e);
    }
    // Counted from the handshake on, so handshakes in parallel cannot pass the limit together.
    open.set(tenant, (open.get(tenant) ?? 0) + 1);
    gauge.inc();
    socket.once('close', () => {
      const n = (open.get(tenant) ?? 1) - 1;
      if (n > 0) open.set(tenant, n);
      else open.delete(tenant);
      gauge.dec();
    });
    wss.handleUpgrade(req, socket, head, (ws) => runTail(ws, r, deps, tenant, now));
  });
}

function runTail(ws: WebSocket, r: TailRequest, deps: LokiTailDeps, tenant: string, now: () => bigint): void {
  const ac = new AbortController();
  const interval = deps.pollIntervalMs ?? TAIL_DEFAULTS.pollIntervalMs;
  const q = querierOf(deps, tenant);
  const cursor = new TailCursor({ startNs: r.startNs, batch: TAIL_DEFAULTS.batch, overlapNs: TAIL_DEFAULTS.overlapNs });
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let first = true;
  const slowBytes = deps.slowClientBytes ?? TAIL_DEFAULTS.slowClientBytes;
  let dropped: TailDropped[] = [];
  let answered = true;
  ws.on('pong', () => (answered = true));
  const pinger = setInterval(() => {
    if (!answered) return ws.terminate();
    answered = false;
    ws.ping();
  }, TAIL_DEFAULTS.pingIntervalMs);
  ws.on('close', () => {
    ac.abort();
    clearTimeout(timer);
    clearInterval(pinger);
  });
  ws.on('error', () => ws.terminate());

  const send = (entries: readonly TailEntry[]) => {
    let i = 0;
    while (i < entries.length) {
      if (ws.bufferedAmount > slowBytes) {
        // The client does not keep up: the rest is dropped and reported once it does.
        for (; i < entries.length && dropped.length < TAIL_MAX_DROPPED_PER_MESSAGE; i++)
          dropped.push({ labels: entries[i].labels, timestampNs: entries[i].timestampNs });
        return;
      }
      const part = entries.slice(i, i + TAIL_MAX_ENTRIES_PER_MESSAGE);
      i += part.length;
      ws.send(tailMessage(part, dropped));
      dropped = [];
    }
    if (dropped.length > 0 && ws.bufferedAmount <= slowBytes) {
      ws.send(tailMessage([], dropped));
      dropped = [];
    }
  };

  const tick = async () => {
    if (ac.signal.aborted) return;
    let more = false;
    try {
      const endNs = now() - r.delayNs;
      // The first poll is Loki's historic query: the `limit` oldest entries since start. Live
      // tailing then starts at its end, as Loki's starts from the ingesters at the request.
      const p = await pollTail(r.expr, q, cursor, endNs, { signal: ac.signal, ...(first ? { batch: r.limit } : {}) });
      if (first && p.more) cursor.skipTo(endNs);
      else more = p.more;
      first = false;
      failures = 0;
      if (ws.readyState === ws.OPEN) send(p.entries);
    } catch (e) {
      if (ac.signal.aborted) return;
      if (++failures >= TAIL_DEFAULTS.maxFailedPolls) {
        ws.close(1011, closeReason(toStrataError(e).detail));
        return;
      }
    }
    if (!ac.signal.aborted) timer = setTimeout(() => void tick(), more ? 0 : interval);
  };
  void tick();
}

/** A WebSocket close reason: at most 123 bytes of UTF-8, cut at a character. */
function closeReason(text: string): string {
  let out = text;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}
