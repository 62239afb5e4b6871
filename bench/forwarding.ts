/**
 * What forwarding costs a replica, in one process: the same requests go through a single
 * receiver's path and through a replica's share of a 4-receiver RF-3 ring (three quarters of
 * each request's series), as the client's body with a series selection (receivers before
 * shares) and as a share (the router's field table and encoding counted apart). Each request
 * goes through every path in turn, so the machine's load weighs on all of them alike; figures
 * are this process's CPU time (process.cpuUsage), each path writing into its own TSDB.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import {
  decodeSeriesSelection,
  decodeShare,
  decodeWriteRequestV1,
  encodeSeriesSelection,
  encodeShare,
  snappyDecode,
  WriteBatch,
} from '@strata/remote';
import { openInProcessWriter } from './in-process-writer.js';
import { encodeRounds, generateSeries, SCRAPE_INTERVAL_MS, type Encoder } from './load.js';

const openWriter = () => openInProcessWriter('bench-fwd');

const cpuMicros = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

export async function runForwardingBench(seriesCount: number, roundsCount: number, encode: Encoder): Promise<string> {
  const rounds = encodeRounds(generateSeries(seriesCount), roundsCount, Date.now() - roundsCount * SCRAPE_INTERVAL_MS, encode);
  const key = crypto.randomBytes(32);
  const mac = (b: Buffer) => crypto.createHmac('sha256', key).update(b).digest();
  const paths = [
    'single receiver: whole request',
    'replica: client body + selection',
    'replica: share',
    'router: field table',
    'router: share encoding',
    'replica: share decoding (part of the share row)',
  ];
  const micros = new Float64Array(paths.length);
  const [single, selected, shared] = [await openWriter(), await openWriter(), await openWriter()];
  let requests = 0;
  for (let r = 0; r < rounds.length; r++) {
    // The first two scrapes create the series; the rest is the steady state measured.
    const measured = r >= Math.min(2, rounds.length - 1);
    for (const body of rounds[r].bodies) {
      const t: number[] = [cpuMicros()];
      await single.writer.write('t', decodeWriteRequestV1(snappyDecode(body, 1 << 30)), false);
      t.push(cpuMicros());
      const total = decodeWriteRequestV1(snappyDecode(body, 1 << 30)).series.length;
      const picked = Array.from({ length: total }, (_, i) => i).filter((i) => i % 4 !== 0);
      const selection = encodeSeriesSelection(picked, total);
      t.push(cpuMicros());
      mac(body);
      await selected.writer.write('t', decodeWriteRequestV1(snappyDecode(body, 1 << 30), decodeSeriesSelection(selection)), false);
      t.push(cpuMicros());
      const routed: WriteBatch = decodeWriteRequestV1(snappyDecode(body, 1 << 30));
      t.push(cpuMicros());
      encodeShare(routed, [], [], false); // the field table, once per request
      t.push(cpuMicros());
      const share = encodeShare(routed, picked, [], false);
      t.push(cpuMicros());
      mac(share);
      const got = decodeShare(share);
      t.push(cpuMicros());
      await shared.writer.write('t', got.batch, got.v2);
      t.push(cpuMicros());
      if (!measured) continue;
      requests++;
      micros[0] += t[1] - t[0];
      micros[1] += t[3] - t[2];
      micros[3] += t[5] - t[4];
      micros[4] += t[6] - t[5];
      micros[2] += t[8] - t[6];
      micros[5] += t[7] - t[6];
    }
  }
  for (const w of [single, selected, shared]) {
    await w.db.close();
    fs.rmSync(w.dir, { recursive: true, force: true });
  }
  const samples = requests * (seriesCount / rounds[0].bodies.length);
  return [
    `## Forwarding cost per request, in-process: ${seriesCount} series x ${roundsCount} scrapes, a replica's share = 3/4 of each request's series`,
    '',
    '| path | CPU ms per request | CPU s per 1M client samples | x single receiver |',
    '|---|---|---|---|',
    ...paths.map(
      (p, i) =>
        `| ${p} | ${(micros[i] / requests / 1000).toFixed(3)} | ${(micros[i] / samples).toFixed(2)} | ${(micros[i] / micros[0]).toFixed(3)} |`,
    ),
  ].join('\n');
}
