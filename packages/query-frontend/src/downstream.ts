/**
 * The queriers behind the frontend, reached over HTTP (a URL, or a Unix socket for the querier
 * inside the same `strata all` process). Failed requests are retried on 5xx and connection
 * errors, never on 4xx (the same request would fail again) and never once the caller gave up.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { HttpClient } from '@strata/api';
import { StrataError } from '@strata/model';

export interface DownstreamRequest {
  method: 'GET' | 'POST';
  /** Path with query string, e.g. /api/v1/labels?match[]=up */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  signal: AbortSignal;
  /** Whose request it is: a querier pool sends each tenant's requests to its own queriers. */
  tenant?: string;
}

export interface DownstreamResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Downstream {
  request(r: DownstreamRequest): Promise<DownstreamResponse>;
  /** Opens an upgrade (a WebSocket handshake) to a querier; what the frontend's upgrade proxy passes through. */
  upgrade?(r: UpgradeRequest): Promise<UpgradeOutcome>;
}

export interface UpgradeRequest {
  /** Path with query string. */
  path: string;
  /** The client's headers to pass on, the handshake's included. */
  headers: Record<string, string>;
  tenant?: string;
}

/** The querier's answer to an upgrade: the upgraded connection, or the HTTP answer refusing it. */
export type UpgradeOutcome =
  | { upgraded: true; res: http.IncomingMessage; socket: Duplex; head: Buffer }
  | { upgraded: false; res: http.IncomingMessage; body: Buffer };

/** Headers passed on from the client's request (hop-by-hop and length headers are not). */
const PASSED = ['content-type', 'content-encoding', 'accept', 'accept-encoding', 'x-prometheus-remote-read-version', 'authorization'];

export function passedHeaders(incoming: http.IncomingHttpHeaders, tenantHeader: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of [...PASSED, tenantHeader.toLowerCase()]) {
    const v = incoming[h];
    if (typeof v === 'string') out[h] = v;
  }
  return out;
}

export interface HttpDownstreamOptions {
  /** Base URL (http://host:port) or, for a querier in the same process, a Unix socket path. */
  url?: string;
  socketPath?: string;
  timeoutMs: number;
  /**
   * How to reach the queriers (--query-frontend.downstream-client-config-file): TLS and the
   * credentials the frontend presents as itself. With credentials configured, every request carries
   * them (the late-data polls too, which have no client behind them); without, a client's own
   * Authorization header is passed on as it came.
   */
  client?: HttpClient;
}

export class HttpDownstream implements Downstream {
  private readonly base: URL | undefined;
  private readonly agent: http.Agent;

  constructor(private readonly opts: HttpDownstreamOptions) {
    this.base = opts.url ? new URL(opts.url) : undefined;
    const Agent = this.base?.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 64 });
  }

  /** The client's agent for https (its TLS settings, certificates re-read when rotated); else our own. */
  private agentFor(): http.Agent {
    return this.opts.client && this.base?.protocol === 'https:' ? this.opts.client.agentFor(this.base.href) : this.agent;
  }

  /** The request's headers with the configured credentials, when there are any, in place of the client's. */
  private headersFor(headers: Record<string, string>): Record<string, string> {
    const auth = this.opts.client?.authorization();
    if (auth === undefined) return headers;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'authorization') out[k] = v;
    out.authorization = auth;
    return out;
  }

  request(r: DownstreamRequest): Promise<DownstreamResponse> {
    const lib = this.base?.protocol === 'https:' ? https : http;
    const prefix = this.base ? this.base.pathname.replace(/\/$/, '') : '';
    return new Promise((resolve, reject) => {
      const req = lib.request(
        {
          method: r.method,
          host: this.base?.hostname,
          port: this.base?.port,
          socketPath: this.opts.socketPath,
          path: prefix + r.path,
          headers: { ...this.headersFor(r.headers), ...(r.body ? { 'content-length': String(r.body.length) } : {}) },
          agent: this.agentFor(),
          signal: r.signal,
          timeout: this.opts.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
            resolve({ status: res.statusCode ?? 502, headers, body: Buffer.concat(chunks) });
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new StrataError('query-timeout', `downstream querier did not answer within ${this.opts.timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(r.body);
    });
  }

  upgrade(r: UpgradeRequest): Promise<UpgradeOutcome> {
    const lib = this.base?.protocol === 'https:' ? https : http;
    const prefix = this.base ? this.base.pathname.replace(/\/$/, '') : '';
    return new Promise((resolve, reject) => {
      // Its own connection over plain HTTP (no keep-alive agent). Over TLS the client's agent
      // carries the TLS settings; an upgraded socket leaves an agent's pool for good.
      const tls = this.opts.client && this.base?.protocol === 'https:';
      const req = lib.request({
        method: 'GET',
        host: this.base?.hostname,
        port: this.base?.port,
        socketPath: this.opts.socketPath,
        path: prefix + r.path,
        headers: { ...this.headersFor(r.headers), connection: 'Upgrade', upgrade: r.headers.upgrade ?? 'websocket' },
        agent: tls ? this.agentFor() : false,
      });
      // The handshake only: once upgraded, the connection lives as long as the client keeps it.
      const timer = setTimeout(
        () =>
          req.destroy(new StrataError('query-timeout', `downstream querier did not answer the upgrade within ${this.opts.timeoutMs} ms`)),
        this.opts.timeoutMs,
      );
      req.on('upgrade', (res, socket, head) => {
        clearTimeout(timer);
        resolve({ upgraded: true, res, socket, head });
      });
      req.on('response', (res) => {
        clearTimeout(timer);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ upgraded: false, res, body: Buffer.concat(chunks) }));
      });
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface RetryOptions {
  /** Retries after the first attempt. */
  retries: number;
  /** First back-off; doubles per retry. */
  backoffMs: number;
  onRetry?: (status: number | string) => void;
}

/** A request retried on 5xx and transport errors, with exponential back-off; 4xx and aborts end it. */
export async function requestWithRetries(d: Downstream, r: DownstreamRequest, o: RetryOptions): Promise<DownstreamResponse> {
  for (let attempt = 0; ; attempt++) {
    let outcome: DownstreamResponse | unknown;
    try {
      outcome = await d.request(r);
    } catch (e) {
      outcome = e;
    }
    if (r.signal.aborted) throw new StrataError('query-canceled', 'the client went away; query canceled');
    const res = outcome as DownstreamResponse;
    const failed = !(outcome && typeof res.status === 'number') || res.status >= 500;
    if (!failed || attempt >= o.retries) {
      if (!failed) return res;
      if (outcome && typeof res.status === 'number') return res;
      throw new StrataError('store-unavailable', `downstream querier failed: ${(outcome as Error)?.message ?? String(outcome)}`, {
        cause: outcome,
      });
    }
    o.onRetry?.(typeof res.status === 'number' ? res.status : 'error');
    await sleep(o.backoffMs * 2 ** attempt, r.signal);
  }
}

function sleep(msDelay: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, msDelay);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
