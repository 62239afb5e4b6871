/** The HTTP server every component mounts its routes on: one port, request metrics, JSON errors. */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { Histogram, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { StrataError } from '@strata/model';
import { sendError, writeUpgradeError } from './respond.js';
import type { Router } from './router.js';
import { BasicAuthenticator, clientCertProblem, tlsServerOptions, type WebConfigWatcher } from './web-guard.js';

export interface HttpServerOptions {
  router: Router;
  registry: Registry;
  logger: Logger;
  /**
   * Consulted before routing: an error answers the request instead of its route (used to answer
   * 503 + Retry-After while the WAL replays, so clients retry instead of dropping data on a 404).
   */
  gate?: (pathname: string) => StrataError | undefined;
  /** Keep-alive must outlive Prometheus' remote-write idle connections to avoid reset races. */
  keepAliveTimeoutMs?: number;
  /** --web.config.file: TLS, basic auth and response headers, as Prometheus serves them. */
  web?: WebConfigWatcher;
}

/** How long a shutdown waits for requests in flight before closing their connections. */
export const SHUTDOWN_GRACE_MS = 10_000;

export class HttpServer {
  private readonly server: http.Server | https.Server;
  private draining = false;
  private readonly auth: BasicAuthenticator;
  /** What clients use to reach this server. */
  readonly scheme: 'http' | 'https';
  private readonly duration: Histogram<'method' | 'route' | 'status_code'>;
  /** Upgraded connections (WebSockets): the HTTP server's close does not end them, close() does. */
  private readonly upgraded = new Set<Duplex>();

  constructor(private readonly opts: HttpServerOptions) {
    this.duration = new Histogram({
      name: 'strata_request_duration_seconds',
      help: 'Time to answer HTTP requests, by route and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [opts.registry],
    });
    this.auth = new BasicAuthenticator(opts.registry);
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const web = opts.web;
    const tls = web?.config.tls;
    if (web && tls) {
      const server = https.createServer(tlsServerOptions(tls), handler);
      // Before the HTTP layer sees the connection: the client-certificate rules OpenSSL does not apply.
      server.prependListener('secureConnection', (sock: TLSSocket) => {
        const current = web.config.tls;
        const problem = current && clientCertProblem(current, sock);
        if (problem) {
          opts.logger.debug({ remote: sock.remoteAddress, problem }, 'TLS connection refused');
          sock.destroy();
        }
      });
      server.on('tlsClientError', (e, sock) => {
        opts.logger.debug({ remote: sock.remoteAddress, err: e.message }, 'TLS handshake failed');
      });
      web.onChange((c) => {
        if (!c.tls) return opts.logger.warn('the web config no longer enables TLS; switching from HTTPS to HTTP needs a restart');
        // New connections use the new certificate, CAs and client-auth mode; open ones keep theirs.
        const o = tlsServerOptions(c.tls);
        server.setSecureContext(o);
        // tls.Server reads these two fields for every new connection; they are not part of the
        // secure context (undocumented, so the reload test switches client_auth_type live).
        Object.assign(server, { requestCert: o.requestCert, rejectUnauthorized: o.rejectUnauthorized });
      });
      this.server = server;
    } else {
      if (web)
        web.onChange((c) => c.tls && opts.logger.warn('the web config now enables TLS; switching from HTTP to HTTPS needs a restart'));
      this.server = http.createServer(handler);
    }
    this.scheme = tls ? 'https' : 'http';
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.handleUpgrade(req, socket, head));
    this.server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 65_000;
    this.server.headersTimeout = this.server.keepAliveTimeout + 1000;
    // Large remote-write backlogs can take a while to upload on slow links; never cut them off.
    this.server.requestTimeout = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      pathname = '/';
    }
    let route = 'other';
    // While shutting down, each connection ends after the response it is serving: a sender
    // keeping its connection busy would otherwise hold the shutdown (and the head's flush) forever.
    if (this.draining) res.setHeader('Connection', 'close');
    try {
      const web = this.opts.web?.config;
      if (web) {
        for (const name in web.headers) res.setHeader(name, web.headers[name]);
        const verdict = web.users.size > 0 ? await this.auth.check(web.users, req.headers.authorization) : true;
        if (verdict === 'busy')
          throw new StrataError('auth-overloaded', 'too many new credentials are waiting to be checked; retry shortly', { retryAfter: 1 });
        if (!verdict) {
          res.writeHead(401, { 'WWW-Authenticate': 'Basic', 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(`Unauthorized (${new StrataError('unauthorized', '').code})\n`);
          return;
        }
      }
      const blocked = this.opts.gate?.(pathname);
      if (blocked) throw blocked;
      const m = this.opts.router.match(method, pathname);
      if (m === undefined) throw new StrataError('not-found', `no route for ${method} ${pathname}`);
      if (m === 'method-not-allowed') {
        res.setHeader('Allow', 'GET, POST');
        throw new StrataError('not-found', `method ${method} not allowed for ${pathname}`, { status: 405 });
      }
      route = m.name;
      await m.handler(req, res, m.params);
    } catch (e) {
      if (!res.headersSent) sendError(res, e);
      else res.destroy(e as Error);
      // 503s are overload and readiness answers, counted by the request histogram; logging each
      // one would flood the log exactly when the process is busiest.
      if (!(e instanceof StrataError) || (e.status >= 500 && e.status !== 503)) this.opts.logger.error({ err: e, route }, 'request failed');
    } finally {
      // Unread request bodies would stall keep-alive connections; drain them.
      if (!req.complete) req.resume();
      const secs = Number(process.hrtime.bigint() - start) / 1e9;
      this.duration.observe({ method, route, status_code: String(res.statusCode) }, secs);
    }
  }

  /**
   * An upgrade request (a WebSocket handshake): the same basic auth and gate as requests, then its
   * upgrade route; refusals are HTTP answers on the socket.
   */
  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const web = this.opts.web?.config;
    // The web config's response headers go on refusals too.
    const headers: Record<string, string> = { ...web?.headers };
    if (this.draining) return void writeUpgradeError(socket, new StrataError('not-ready', 'shutting down'), headers);
    let pathname = '/';
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      // answered as an unknown route below
    }
    try {
      if (web && web.users.size > 0) {
        const verdict = await this.auth.check(web.users, req.headers.authorization);
        if (verdict === 'busy')
          throw new StrataError('auth-overloaded', 'too many new credentials are waiting to be checked; retry shortly', { retryAfter: 1 });
        if (!verdict)
          return void writeUpgradeError(socket, new StrataError('unauthorized', 'Unauthorized'), {
            ...headers,
            'WWW-Authenticate': 'Basic',
          });
      }
      const blocked = this.opts.gate?.(pathname);
      if (blocked) throw blocked;
      const m = this.opts.router.matchUpgrade(pathname);
      if (!m || String(req.headers.upgrade).toLowerCase() !== 'websocket') return this.serveWithoutUpgrade(req, socket);
      this.upgraded.add(socket);
      socket.once('close', () => this.upgraded.delete(socket));
      await m.handler(req, socket, head);
    } catch (e) {
      writeUpgradeError(socket, e, headers);
      if (!(e instanceof StrataError) || (e.status >= 500 && e.status !== 503))
        this.opts.logger.error({ err: e, pathname }, 'upgrade failed');
    }
  }

  /**
   * An upgrade request to a route without upgrades (say curl's `Upgrade: h2c`): answered as a plain
   * request, as node answers them when the server has no upgrade listener, then the connection closes.
   */
  private serveWithoutUpgrade(req: IncomingMessage, socket: Duplex): Promise<void> {
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => {
      res.detachSocket(socket as Socket);
      socket.end();
    });
    return this.handle(req, res);
  }

  listen(address: string): Promise<AddressInfo> {
    const { host, port } = splitHostPort(address);
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops taking connections and lets requests in flight finish (each connection closes after
   * its response); after `graceMs` the remaining connections are cut.
   */
  close(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    this.draining = true;
    // Live tails have no end of their own: they are cut when the server stops.
    for (const s of this.upgraded) s.destroy();
    return new Promise((resolve) => {
      const force = setTimeout(() => this.server.closeAllConnections(), graceMs);
      force.unref();
      this.server.close(() => {
        clearTimeout(force);
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }
}

export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  if (i < 0) throw new Error(`invalid address ${JSON.stringify(address)}: want host:port`);
  let host = address.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port in ${JSON.stringify(address)}`);
  return { host: host === '' ? '0.0.0.0' : host, port };
}
