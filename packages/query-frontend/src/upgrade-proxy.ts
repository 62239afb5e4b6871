/**
 * The frontend's upgrade proxy: an upgrade request (Loki's live tail, a WebSocket) is passed to a
 * querier with the client's handshake headers, and the querier's answer comes back unchanged: its
 * 101 and the bytes both ways from then on, or the HTTP answer refusing the upgrade (the tail's
 * 400s). Nothing is queued: a tail holds no slot, its querier enforces the tail limits.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { StrataError } from '@strata/model';
import { writeUpgradeError } from '@strata/api';
import type { Downstream } from './downstream.js';

/** Client headers an upgrade carries on: the WebSocket handshake's, credentials and the tenant's. */
const UPGRADE_HEADERS = [
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'authorization',
  'origin',
  'user-agent',
];

function statusText(res: IncomingMessage, from: number): string {
  let text = `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\n`;
  const raw = res.rawHeaders;
  for (let i = from; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return text;
}

/**
 * Passes one upgrade through `downstream`; resolves with the status the querier answered (101 once
 * upgraded), after which the two sockets are piped until either side closes.
 */
export async function proxyUpgrade(
  downstream: Downstream,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  tenant: string,
  tenantHeader: string,
): Promise<number> {
  if (!downstream.upgrade) {
    writeUpgradeError(socket, new StrataError('not-found', `the downstream queriers take no upgrades for ${req.url}`));
    return 404;
  }
  const headers: Record<string, string> = {};
  for (const h of [...UPGRADE_HEADERS, tenantHeader.toLowerCase()]) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  let out;
  try {
    out = await downstream.upgrade({ path: req.url ?? '/', headers, tenant });
  } catch (e) {
    const err = new StrataError('store-unavailable', `downstream querier failed the upgrade: ${(e as Error).message}`, { cause: e });
    writeUpgradeError(socket, err);
    return err.status;
  }
  if (!out.upgraded) {
    // The refusal as the querier wrote it, its body with a length and the connection closed.
    const raw = out.res.rawHeaders;
    let text = `HTTP/1.1 ${out.res.statusCode ?? 502} ${out.res.statusMessage ?? ''}\r\n`;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i].toLowerCase();
      if (k === 'content-length' || k === 'connection' || k === 'transfer-encoding' || k === 'keep-alive') continue;
      text += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    text += `Content-Length: ${out.body.length}\r\nConnection: close\r\n\r\n`;
    if (socket.writable) socket.end(Buffer.concat([Buffer.from(text), out.body]));
    return out.res.statusCode ?? 502;
  }
  const up = out.socket;
  const closeBoth = () => {
    socket.destroy();
    up.destroy();
  };
  if (socket.destroyed) {
    up.destroy();
    return 101;
  }
  socket.write(statusText(out.res, 0) + '\r\n');
  if (out.head.length > 0) socket.write(out.head);
  if (head.length > 0) up.write(head);
  socket.on('error', closeBoth);
  up.on('error', closeBoth);
  socket.on('close', closeBoth);
  up.on('close', closeBoth);
  up.pipe(socket);
  socket.pipe(up);
  return 101;
}
