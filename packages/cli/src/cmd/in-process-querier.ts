/**
 * The querier of `strata all` behind its query frontend: its routes on a router of their own,
 * served on a Unix socket in a directory only this user can enter, so the frontend reaches it
 * over HTTP as it reaches remote queriers, and nobody else reaches it at all (no TCP port that
 * would bypass the public listener's TLS, basic auth and queue).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { failure, sendResult, writeUpgradeError, type Router } from '@strata/api';
import { StrataError } from '@strata/model';

export interface InProcessQuerier {
  socketPath: string;
  close(): Promise<void>;
}

export async function serveOnSocket(router: Router): Promise<InProcessQuerier> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-querier-'));
  fs.chmodSync(dir, 0o700);
  const socketPath = path.join(dir, 'querier.sock');
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const m = router.match(req.method ?? 'GET', pathname);
    const fail = (e: unknown) => (res.headersSent ? res.destroy() : sendResult(res, failure(e)));
    if (m === undefined || m === 'method-not-allowed') return fail(new StrataError('not-found', `no route for ${req.method} ${pathname}`));
    Promise.resolve(m.handler(req, res, m.params)).catch(fail);
  });
  // Upgrades (the Loki tail's WebSocket), passed through by the frontend's upgrade proxy.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const m = router.matchUpgrade(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (!m) return writeUpgradeError(socket, new StrataError('not-found', `no upgrade route for ${req.url}`));
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    Promise.resolve(m.handler(req, socket, head)).catch((e: unknown) => writeUpgradeError(socket, e));
  });
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of upgraded) s.destroy();
        server.closeAllConnections();
        server.close(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
