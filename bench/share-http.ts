/**
 * What a forwarded share costs a replica over HTTP, against a client's request to the same
 * receiver: one receiver process is sent every request of the load either as the client's body
 * or as the share a router would forward (three quarters of each request's series, signed as a
 * peer signs it), and its CPU per stored sample is compared. The in-process benchmark
 * (--forwarding-only) leaves HTTP, the handler and the process's other threads out.
 */
import http from 'node:http';
import { ForwardAuth } from '@strata/receiver';
import { decodeWriteRequestV1, encodeShare, SHARE_CONTENT_TYPE, snappyDecode } from '@strata/remote';
import { startStrata, stop, TEST_FORWARD_SECRET } from '../test/harness.js';
import { cpuSeconds } from './systems.js';
import { encodeRounds, generateSeries, SCRAPE_INTERVAL_MS, type Encoder } from './load.js';

const TENANT = 'anonymous';
const args = [
  '--limits.ingestion-rate=0',
  '--limits.max-global-series-per-user=0',
  '--receiver.max-inflight-bytes=4GiB',
  '--log.level=error',
  `--receiver.forward-secret=${TEST_FORWARD_SECRET}`,
];

function send(url: string, body: Buffer, headers: http.OutgoingHttpHeaders, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** CPU seconds of one fresh receiver taking `bodies` (round by round, 8 connections); failures counted. */
async function run(bodies: Buffer[][], headersOf: (b: Buffer) => http.OutgoingHttpHeaders): Promise<{ cpu: number; failures: number }> {
  const s = await startStrata({ component: 'receiver', args });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const c0 = cpuSeconds(s.child.pid!);
  let failures = 0;
  for (const round of bodies) {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < round.length) {
          const b = round[next++];
          if ((await send(`${s.url}/api/v1/write`, b, headersOf(b), agent)) !== 204) failures++;
        }
      }),
    );
  }
  const cpu = cpuSeconds(s.child.pid!) - c0;
  agent.destroy();
  await stop(s);
  return { cpu, failures };
}

export async function runShareHttpBench(seriesCount: number, roundsCount: number, encode: Encoder, repeats: number): Promise<string> {
  const rounds = encodeRounds(generateSeries(seriesCount), roundsCount, Date.now() - roundsCount * SCRAPE_INTERVAL_MS, encode);
  const auth = ForwardAuth.from(TEST_FORWARD_SECRET, '')!;
  let shareSamples = 0;
  const shares = rounds.map((r) =>
    r.bodies.map((b) => {
      const batch = decodeWriteRequestV1(snappyDecode(b, 1 << 30));
      const picked = batch.series.map((_, i) => i).filter((i) => i % 4 !== 0);
      for (const i of picked) shareSamples += batch.series[i].sampleEnd - batch.series[i].sampleStart;
      return encodeShare(batch, picked, [], false);
    }),
  );
  const clientHeaders = { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' };
  const shareHeaders = (body: Buffer) => {
    const h: http.OutgoingHttpHeaders = {
      'Content-Type': SHARE_CONTENT_TYPE,
      'x-strata-forwarded': '127.0.0.1:1',
      'X-Scope-OrgID': TENANT,
    };
    auth.sign(h, TENANT, body);
    return h;
  };
  const client: number[] = [];
  const share: number[] = [];
  let failures = 0;
  for (let rep = 0; rep < repeats; rep++) {
    const c = await run(
      rounds.map((r) => r.bodies),
      () => clientHeaders,
    );
    const s = await run(shares, shareHeaders);
    client.push((c.cpu / (seriesCount * roundsCount)) * 1e6);
    share.push((s.cpu / shareSamples) * 1e6);
    failures += c.failures + s.failures;
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return [
    `## A replica's share over HTTP vs a client's request: ${seriesCount} series x ${roundsCount} scrapes, one receiver, medians of ${repeats} interleaved runs${failures ? `, ${failures} FAILED requests` : ''}`,
    '',
    '| request | CPU s per 1M stored samples | each run |',
    '|---|---|---|',
    `| client remote-write 1.0 (whole request) | ${med(client).toFixed(2)} | ${client.map((x) => x.toFixed(2)).join(', ')} |`,
    `| forwarded share (3/4 of each request's series) | ${med(share).toFixed(2)} | ${share.map((x) => x.toFixed(2)).join(', ')} |`,
    '',
    `Per stored sample, share / client: ${(med(share) / med(client)).toFixed(2)}x`,
  ].join('\n');
}
