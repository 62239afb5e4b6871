/**
 * Streamed remote-read of raw blocks sends the stored XOR chunks that lie wholly inside the
 * requested range as they are (as Prometheus does), re-encoding only those the range cuts, and
 * decodes to exactly what select() gives and the handler sent before: every sample, bit for bit
 * (staleness markers included), for blocks one after the other and for overlapping ones (replicas,
 * out-of-order blocks), which are merged as select() merges them.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels, Matcher, type Series } from '@strata/model';
import { decodeChunkedFrames, encodeReadRequest, RESPONSE_STREAMED_XOR_CHUNKS, snappyEncode } from '@strata/remote';
import { BlockReader, BlockSetQuerier, writeBlock, XOREncoder, type BlockChunk } from '@strata/tsdb';
import { createRemoteReadHandler, toChunks } from './remote-read.js';
import { decodeSeriesChunks } from './rollup-read.js';

const STALE = new Float64Array(new Uint32Array([0x00000002, 0x7ff00000]).buffer)[0];
const T0 = 1_700_000_000_000;
const tenancy = { multiTenancy: true, header: 'X-Scope-OrgID' };

/** One block: per series, samples at `step` ms from `offset`, cut into chunks of `perChunk`. */
const blockArb = fc.record({
  offset: fc.integer({ min: 0, max: 20 }),
  samples: fc.integer({ min: 1, max: 300 }),
  step: fc.constantFrom(1_000, 15_000),
  perChunk: fc.integer({ min: 1, max: 130 }),
  values: fc.array(fc.oneof(fc.double(), fc.constant(STALE), fc.constant(NaN)), { minLength: 1, maxLength: 50 }),
});
type BlockArb = typeof blockArb extends fc.Arbitrary<infer T> ? T : never;

async function writeBlocks(dir: string, blocks: BlockArb[]): Promise<BlockReader[]> {
  const readers: BlockReader[] = [];
  for (const [b, arb] of blocks.entries()) {
    const series = [0, 1, 2].map((s) => {
      const chunks: BlockChunk[] = [];
      for (let i = 0; i < arb.samples; i += arb.perChunk) {
        const e = new XOREncoder();
        const ts: number[] = [];
        // Series 2 starts half way into each block, so some series have no chunk in a range.
        for (let k = i; k < Math.min(arb.samples, i + arb.perChunk); k++) {
          if (s === 2 && k < arb.samples / 2) continue;
          ts.push(time(arb, k));
          e.append(time(arb, k), arb.values[(k + s + b) % arb.values.length]);
        }
        if (ts.length > 0) chunks.push({ minT: ts[0], maxT: ts[ts.length - 1], data: e.bytes().slice() });
      }
      return { labels: Labels.fromObject({ __name__: 'x', s: String(s) }), chunks };
    });
    const meta = await writeBlock(dir, series, { minTime: time(arb, 0), maxTime: time(arb, arb.samples - 1) + 1 });
    readers.push(await BlockReader.openDir(path.join(dir, meta.ulid)));
  }
  return readers;
}

const time = (b: BlockArb, k: number) => T0 + b.offset * 60_000 + k * b.step;

/** A streamed remote-read through the real handler over HTTP: the frames. */
async function streamed(q: BlockSetQuerier, start: number, end: number) {
  const handler = createRemoteReadHandler({ querier: () => q }, tenancy);
  const server = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const body = snappyEncode(
      encodeReadRequest({
        queries: [{ startMs: start, endMs: end, matchers: [new Matcher('=', '__name__', 'x')] }],
        acceptedResponseTypes: [RESPONSE_STREAMED_XOR_CHUNKS],
      }),
    );
    const { port } = server.address() as { port: number };
    const r = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body, headers: { [tenancy.header]: 't' } });
    expect(r.status).toBe(200);
    return decodeChunkedFrames(Buffer.from(await r.arrayBuffer()));
  } finally {
    await new Promise((r) => server.close(r));
  }
}

const bits = (a: Float64Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length * 2));
const flat = (s: Pick<Series, 'labels' | 'timestamps' | 'values'>) => ({
  l: s.labels.key(),
  t: Array.from(s.timestamps),
  v: bits(s.values),
});

test('streamed raw reads pass stored chunks through and decode to what select() and the re-encoding handler gave (property)', async () => {
  const dirs: string[] = [];
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(blockArb, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        async (blocks, a, b) => {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-rr-pass-'));
          dirs.push(dir);
          const readers = await writeBlocks(dir, blocks);
          try {
            const q = new BlockSetQuerier(readers);
            const last = Math.max(...blocks.map((x) => time(x, x.samples - 1)));
            const span = last - T0 + 1;
            const start = T0 + Math.floor((Math.min(a, b) / 100) * span);
            const end = T0 + Math.floor((Math.max(a, b) / 100) * span);
            const want = await q.select([new Matcher('=', '__name__', 'x')], { start, end });
            const frames = await streamed(q, start, end);
            // Unclipped: no sample outside the range is sent, as before.
            const got = frames.map((f) => ({ labels: f.labels, ...decodeSeriesChunks(f.chunks, -Infinity, Infinity) }));
            expect(got.map(flat)).toEqual(want.filter((s) => s.timestamps.length > 0).map(flat));
            // What the handler sent before (select() re-encoded) decodes to the same.
            const before = want.map((s) => ({ labels: s.labels, ...decodeSeriesChunks(toChunks(s), -Infinity, Infinity) }));
            expect(got.map(flat)).toEqual(before.filter((s) => s.timestamps.length > 0).map(flat));
            // Blocks one after the other: every stored chunk inside the range went as it is.
            const disjoint = blocks.every((x, i) => i === 0 || time(x, 0) > time(blocks[i - 1], blocks[i - 1].samples - 1));
            if (disjoint && blocks.length === 1) {
              const sent = new Set(frames.flatMap((f) => f.chunks.map((c) => Buffer.from(c.data).toString('hex'))));
              const stored = await readers[0].selectChunks([new Matcher('=', '__name__', 'x')], { start, end });
              for (const s of stored)
                s.chunks.forEach((c, i) => {
                  if (s.ranges[2 * i] >= start && s.ranges[2 * i + 1] <= end) expect(sent.has(Buffer.from(c).toString('hex'))).toBe(true);
                });
            }
          } finally {
            for (const r of readers) await r.close();
          }
        },
      ),
      { numRuns: 40, seed: 3 },
    );
  } finally {
    dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
  }
});
