/**
 * POST /api/v1/read: Prometheus remote-read over any Queryable. Answers STREAMED_XOR_CHUNKS
 * (framed ChunkedReadResponse, one frame per series) when the client accepts it, else SAMPLES
 * (one snappy ReadResponse). This is the only protocol stores and the querier speak; a Strata
 * querier may extend it to read rollups (rollup-read.ts, docs/format/rollup-read.md). Native
 * histograms go as float histogram chunks (type 3) when streamed, and in TimeSeries.histograms
 * as samples.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Labels, mayReadRollups, StrataError, type Queryable, type RawSeries, type SelectHints } from '@strata/model';
import {
  CHUNK_TYPE_XOR,
  decodeReadRequest,
  encodeChunkedFrame,
  encodeReadResponse,
  RESPONSE_STREAMED_XOR_CHUNKS,
  snappyDecode,
  snappyEncode,
  type ChunkToSend,
  type SeriesSamples,
} from '@strata/remote';
import {
  decodeRawSeries,
  decodeXORBits,
  encodeSeriesChunks,
  hasRollupParts,
  joinSourceParts,
  modeFor,
  xorNumSamples,
  type PartsSeries,
} from '@strata/tsdb';
import { readBody } from './params.js';
import {
  MAX_SOURCE_RESOLUTION_HEADER,
  maxResolutionOf,
  rollupChunks,
  rollupPartChunks,
  ROLLUP_PARTS_HEADER,
  xorChunks,
} from './rollup-read.js';
import { tenantOf, type TenancyConfig } from './tenant.js';

export const MAX_READ_REQUEST_BYTES = 16 * 1024 * 1024;

/**
 * Samples as chunks of at most 120 samples, values copied as raw bits: XOR chunks for floats,
 * float histogram chunks for native histograms (their chunk type is their TSDB encoding).
 */
export function toChunks(s: SeriesSamples): ChunkToSend[] {
  return encodeSeriesChunks(s).map((c) => ({ minT: c.minT, maxT: c.maxT, data: c.data, type: c.encoding }));
}

/**
 * A series' stored chunks for a streamed answer, as Prometheus' streamed remote-read sends them:
 * an XOR chunk lying wholly inside [start, end] goes as it is; one cut by the range's edges is
 * decoded and its samples in the range encoded again. Series whose chunks the store gave without
 * their time ranges, that hold native histograms or samples already decoded, or whose chunks
 * overlap (replicas, out-of-order blocks: they must be merged) are decoded as select() would have
 * and encoded whole. Undefined when no sample is in the range. The samples are exactly select()'s
 * (decodeRawSeries is its contract); only where chunks begin and end may differ.
 */
export function rawSeriesChunks(r: RawSeries, start: number, end: number): ChunkToSend[] | undefined {
  const stored: { minT: number; maxT: number; data: Uint8Array }[] = [];
  for (const p of r.parts) {
    if (!('chunks' in p) || !p.ranges) return decodedChunks(r, start, end);
    for (let i = 0; i < p.chunks.length; i++) stored.push({ minT: p.ranges[2 * i], maxT: p.ranges[2 * i + 1], data: p.chunks[i] });
  }
  stored.sort((a, b) => a.minT - b.minT);
  for (let i = 1; i < stored.length; i++) if (stored[i].minT <= stored[i - 1].maxT) return decodedChunks(r, start, end);
  const out: ChunkToSend[] = [];
  for (const c of stored) {
    const n = xorNumSamples(c.data);
    if (n === 0) continue;
    if (c.minT >= start && c.maxT <= end) {
      out.push({ minT: c.minT, maxT: c.maxT, data: c.data, type: CHUNK_TYPE_XOR });
      continue;
    }
    const ts = new Float64Array(n);
    const vs = new Float64Array(n);
    const k = decodeXORBits(c.data, ts, new Uint32Array(vs.buffer), 0, start, end);
    if (k > 0) out.push(...xorChunks(ts.subarray(0, k), vs.subarray(0, k)));
  }
  return out.length > 0 ? out : undefined;
}

function decodedChunks(r: RawSeries, start: number, end: number): ChunkToSend[] | undefined {
  const s = decodeRawSeries(r, start, end);
  return s && s.timestamps.length > 0 ? toChunks(s) : undefined;
}

/**
 * A series selected as rollup parts: the parts themselves when all have a wire form, else (native
 * histograms) the series joined here and sent as select() would have been.
 */
function partChunks(s: PartsSeries, func: string | undefined): ChunkToSend[] | undefined {
  const mode = modeFor(func);
  const wire = rollupPartChunks(s.parts, mode);
  if (wire) return wire;
  const joined = joinSourceParts(s.labels, s.parts, mode);
  if (!joined) return undefined;
  return joined.rollup ? [...toChunks(joined), ...rollupChunks(joined)] : toChunks(joined);
}

export function createRemoteReadHandler(queryable: Queryable, tenancy: TenancyConfig) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const ac = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) ac.abort();
    });
    const tenant = tenantOf(req, tenancy);
    const body = await readBody(req, MAX_READ_REQUEST_BYTES);
    let request;
    try {
      request = decodeReadRequest(snappyDecode(body, MAX_READ_REQUEST_BYTES * 8));
    } catch (e) {
      if (e instanceof StrataError) throw e;
      throw new StrataError('bad-query', `invalid remote-read request: ${(e as Error).message}`);
    }
    const q = queryable.querier(tenant);
    const streamed = request.acceptedResponseTypes.includes(RESPONSE_STREAMED_XOR_CHUNKS);
    // Rollups only for a client that asked (a Strata querier) and in the streamed answer, the one
    // that can carry their side data; everyone else reads raw data as before.
    const maxResolution = streamed ? maxResolutionOf(req.headers[MAX_SOURCE_RESOLUTION_HEADER]) : 0;
    const hintsOf = (i: number): SelectHints => {
      const query = request.queries[i];
      return {
        start: query.startMs,
        end: query.endMs,
        step: query.hints?.stepMs,
        func: query.hints?.func,
        range: query.hints?.rangeMs,
        signal: ac.signal,
        ...(maxResolution > 0 ? { maxResolution } : {}),
      };
    };
    if (streamed) {
      // A querier that reads rollup parts gets float rollups' chunks as the store fetched them.
      const parts = maxResolution > 0 && req.headers[ROLLUP_PARTS_HEADER] === '1' && hasRollupParts(q) ? q : undefined;
      res.writeHead(200, { 'Content-Type': 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse' });
      const send = async (frame: Buffer) => {
        if (!res.write(frame)) await new Promise((r) => res.once('drain', r));
      };
      for (let i = 0; i < request.queries.length; i++) {
        const hints = hintsOf(i);
        const inParts = await parts?.selectRollupParts(request.queries[i].matchers, hints);
        if (inParts) {
          for (const s of inParts) {
            const chunks = partChunks(s, hints.func);
            if (chunks) await send(encodeChunkedFrame(i, [{ labels: s.labels, chunks }]));
          }
          continue;
        }
        if (q.selectRaw && !mayReadRollups(hints)) {
          // Raw data: the stores' chunks, sent on as they are where the range does not cut them.
          const raw = await q.selectRaw(request.queries[i].matchers, hints);
          raw.sort((a, b) => Labels.compare(a.labels, b.labels));
          for (const r of raw) {
            const chunks = rawSeriesChunks(r, hints.start, hints.end);
            if (chunks) await send(encodeChunkedFrame(i, [{ labels: r.labels, chunks }]));
          }
          continue;
        }
        const series = await q.select(request.queries[i].matchers, hints);
        for (const s of series) {
          const chunks = maxResolution > 0 && s.rollup ? [...toChunks(s), ...rollupChunks(s)] : toChunks(s);
          await send(encodeChunkedFrame(i, [{ labels: s.labels, chunks }]));
        }
      }
      res.end();
      return;
    }
    const results: SeriesSamples[][] = [];
    for (let i = 0; i < request.queries.length; i++) results.push(await q.select(request.queries[i].matchers, hintsOf(i)));
    const out = snappyEncode(encodeReadResponse(results));
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'Content-Length': out.length });
    res.end(out);
  };
}
