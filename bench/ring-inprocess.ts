/**
 * The ring's CPU per client sample without HTTP, in one process: each request goes through a
 * single receiver's path and through a ring of 3 and of 4 receivers at RF 3, where every receiver
 * is a real Writer over its own TSDB and a router's Distributor reaches its peers through an
 * in-process forwarder (share encoding, the HMAC a peer verifies, share decoding, the peer's
 * write). Requests go round-robin over the routers, as from a load balancer, and each request
 * goes through every setup in turn, so the machine's load weighs on all of them alike: the
 * ratios are steadier than the multi-process benchmark's (--ring-only), which adds HTTP.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Registry } from 'prom-client';
import { Distributor } from '@strata/receiver';
import { decodeShare, decodeWriteRequestV1, encodeShare, snappyDecode, type WriteBatch } from '@strata/remote';
import { Hashrings } from '@strata/ring';
import { openInProcessWriter, type InProcessWriter } from './in-process-writer.js';
import { encodeRounds, generateSeries, SCRAPE_INTERVAL_MS, type Encoder } from './load.js';

type Node = InProcessWriter;

const openNode = (share: () => number): Promise<Node> => openInProcessWriter('bench-ring-inproc', share);

interface Ring {
  nodes: Node[];
  routers: Distributor[];
  next: number;
}

async function openRing(size: number, mac: (b: Buffer) => Buffer): Promise<Ring> {
  const endpoints = Array.from({ length: size }, (_, i) => `r${i}:9009`);
  const nodes: Node[] = [];
  for (let i = 0; i < size; i++) nodes.push(await openNode(() => 1));
  const rings = new Hashrings([
    {
      hashring: 'default',
      tenants: [],
      tenantMatcherType: 'exact',
      algorithm: 'ketama',
      endpoints: endpoints.map((address) => ({ address })),
    },
  ]);
  // With RF equal to the ring's size every peer gets the same share: encoded once, as Distributor.forward does.
  const last = new WeakMap<WriteBatch, { indices: number[]; body: Buffer }>();
  const routers = endpoints.map(
    (self) =>
      new Distributor({
        rings: () => rings,
        self,
        replicationFactor: 3,
        forwardTimeoutMs: 5000,
        tenantHeader: 'X-Scope-OrgID',
        registry: new Registry(),
        forwarder: async (ep, tenant, batch, indices, v2, metadata = []) => {
          const hit = last.get(batch);
          const body = hit && hit.indices === indices ? hit.body : encodeShare(batch, indices, metadata, v2);
          last.set(batch, { indices, body });
          mac(body); // signed by the router
          mac(body); // verified by the peer
          const got = decodeShare(body);
          const r = await nodes[endpoints.indexOf(ep)].writer.write(tenant, got.batch, got.v2);
          return r.firstError
            ? { outcome: 'bad', status: r.firstError.status, message: r.firstError.detail }
            : { outcome: 'ok', status: 204, message: '' };
        },
      }),
  );
  return { nodes, routers, next: 0 };
}

const cpuMicros = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

export async function runRingInProcessBench(seriesCount: number, roundsCount: number, encode: Encoder): Promise<string> {
  const rounds = encodeRounds(generateSeries(seriesCount), roundsCount, Date.now() - roundsCount * SCRAPE_INTERVAL_MS, encode);
  const key = crypto.randomBytes(32);
  const mac = (b: Buffer) => crypto.createHmac('sha256', key).update(b).digest();
  const single = await openNode(() => 1);
  const ring3 = await openRing(3, mac);
  const ring4 = await openRing(4, mac);
  const names = ['single receiver', '3 receivers, RF 3', '4 receivers, RF 3'];
  const micros = new Float64Array(names.length);
  let failures = 0;
  const viaRing = async (ring: Ring, body: Buffer) => {
    const k = ring.next++ % ring.routers.length;
    const batch = decodeWriteRequestV1(snappyDecode(body, 1 << 30));
    const r = await ring.routers[k].replicate({ tenant: 't', batch, v2: false }, ring.nodes[k].writer);
    if (r.status !== 204) failures++;
  };
  let requests = 0;
  for (const round of rounds) {
    for (const body of round.bodies) {
      const t0 = cpuMicros();
      await single.writer.write('t', decodeWriteRequestV1(snappyDecode(body, 1 << 30)), false);
      const t1 = cpuMicros();
      await viaRing(ring3, body);
      const t2 = cpuMicros();
      await viaRing(ring4, body);
      const t3 = cpuMicros();
      micros[0] += t1 - t0;
      micros[1] += t2 - t1;
      micros[2] += t3 - t2;
      requests++;
    }
  }
  for (const n of [single, ...ring3.nodes, ...ring4.nodes]) {
    await n.db.close();
    fs.rmSync(n.dir, { recursive: true, force: true });
  }
  const samples = seriesCount * roundsCount;
  return [
    `## Ring CPU per client sample, in-process (no HTTP): ${seriesCount} series x ${roundsCount} scrapes, ${requests} requests round-robin over the routers${failures ? `, ${failures} FAILED` : ''}`,
    '',
    '| setup | CPU s per 1M client samples | x single receiver |',
    '|---|---|---|',
    ...names.map((n, i) => `| ${n} | ${(micros[i] / samples).toFixed(2)} | ${(micros[i] / micros[0]).toFixed(2)} |`),
  ].join('\n');
}
