/**
 * Remote-read wire formats (prompb/remote.proto and prompb/types.proto); each decoder quotes the
 * message it reads.
 */
import { crc32c } from '@node-rs/crc32';
import { Labels, Matcher, StrataError, type FloatHistogram, type MatchType } from '@strata/model';
import { HistogramTable, rowToFloatHistogram, wireFromFloatHistogram } from './histogram-table.js';
import { decodeHistogram, encodeHistogram } from './histogram-wire.js';
import { malformed, PbReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './pb-reader.js';
import { PbWriter } from './pb-writer.js';
import { decodeLabelFields } from './labels-v1.js';

export const RESPONSE_SAMPLES = 0;
export const RESPONSE_STREAMED_XOR_CHUNKS = 1;
export const CHUNK_TYPE_XOR = 1;
/** Native histogram chunks: the chunk types are the TSDB encodings (2 integer, 3 float histograms). */
export const CHUNK_TYPE_HISTOGRAM = 2;
export const CHUNK_TYPE_FLOAT_HISTOGRAM = 3;
const MATCH_TYPES: MatchType[] = ['=', '!=', '=~', '!~'];

export interface ReadHints {
  stepMs: number;
  func: string;
  startMs: number;
  endMs: number;
  grouping: string[];
  by: boolean;
  rangeMs: number;
}

export interface ReadQuery {
  startMs: number;
  endMs: number;
  matchers: Matcher[];
  hints?: ReadHints;
}

export interface ReadRequest {
  queries: ReadQuery[];
  acceptedResponseTypes: number[];
}

/**
 *   message ReadRequest {
 *     repeated Query queries = 1;
 *     repeated ResponseType accepted_response_types = 2;  // SAMPLES = 0, STREAMED_XOR_CHUNKS = 1
 *   }
 */
export function decodeReadRequest(buf: Buffer): ReadRequest {
  const r = new PbReader(buf);
  const req: ReadRequest = { queries: [], acceptedResponseTypes: [] };
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_LEN) {
          const outer = r.enter();
          req.queries.push(decodeQuery(r));
          r.leave(outer);
        }
        break;
      case 2:
        if (r.wire === WIRE_VARINT) req.acceptedResponseTypes.push(r.varint());
        else if (r.wire === WIRE_LEN) {
          const outer = r.enter();
          while (!r.done) req.acceptedResponseTypes.push(r.varint());
          r.leave(outer);
        }
        break;
    }
  }
  return req;
}

/**
 *   message Query {
 *     int64 start_timestamp_ms = 1;
 *     int64 end_timestamp_ms   = 2;
 *     repeated LabelMatcher matchers = 3;
 *     ReadHints hints = 4;
 *   }
 */
function decodeQuery(r: PbReader): ReadQuery {
  const q: ReadQuery = { startMs: 0, endMs: 0, matchers: [] };
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_VARINT) q.startMs = r.int64();
        break;
      case 2:
        if (r.wire === WIRE_VARINT) q.endMs = r.int64();
        break;
      case 3:
        if (r.wire === WIRE_LEN) {
          const outer = r.enter();
          q.matchers.push(decodeMatcher(r));
          r.leave(outer);
        }
        break;
      case 4:
        if (r.wire === WIRE_LEN) {
          const outer = r.enter();
          q.hints = decodeHints(r);
          r.leave(outer);
        }
        break;
    }
  }
  return q;
}

/**
 *   message LabelMatcher {
 *     Type type    = 1;  // EQ = 0, NEQ = 1, RE = 2, NRE = 3
 *     string name  = 2;
 *     string value = 3;
 *   }
 */
function decodeMatcher(r: PbReader): Matcher {
  let type = 0;
  let name = '';
  let value = '';
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_VARINT) type = r.varint();
        break;
      case 2:
        if (r.wire === WIRE_LEN) name = r.string();
        break;
      case 3:
        if (r.wire === WIRE_LEN) value = r.string();
        break;
    }
  }
  if (!MATCH_TYPES[type]) throw malformed(`unknown matcher type ${type}`);
  try {
    return new Matcher(MATCH_TYPES[type], name, value);
  } catch (e) {
    throw new StrataError('bad-query', `invalid regular expression in matcher ${name}: ${(e as Error).message}`);
  }
}

/**
 *   message ReadHints {
 *     int64 step_ms  = 1;
 *     string func    = 2;
 *     int64 start_ms = 3;
 *     int64 end_ms   = 4;
 *     repeated string grouping = 5;
 *     bool by        = 6;
 *     int64 range_ms = 7;
 *   }
 */
function decodeHints(r: PbReader): ReadHints {
  const h: ReadHints = { stepMs: 0, func: '', startMs: 0, endMs: 0, grouping: [], by: false, rangeMs: 0 };
  while (r.nextField()) {
    const varint = r.wire === WIRE_VARINT;
    const len = r.wire === WIRE_LEN;
    switch (r.field) {
      case 1:
        if (varint) h.stepMs = r.int64();
        break;
      case 2:
        if (len) h.func = r.string();
        break;
      case 3:
        if (varint) h.startMs = r.int64();
        break;
      case 4:
        if (varint) h.endMs = r.int64();
        break;
      case 5:
        if (len) h.grouping.push(r.string());
        break;
      case 6:
        if (varint) h.by = r.varint() !== 0;
        break;
      case 7:
        if (varint) h.rangeMs = r.int64();
        break;
    }
  }
  return h;
}

export function encodeReadRequest(req: ReadRequest): Buffer {
  const w = new PbWriter();
  for (const q of req.queries) {
    w.message(1, () => {
      w.int64(1, q.startMs);
      w.int64(2, q.endMs);
      for (const m of q.matchers) {
        w.message(3, () => {
          w.uint(1, MATCH_TYPES.indexOf(m.type));
          w.string(2, m.name);
          w.string(3, m.value);
        });
      }
      if (q.hints) {
        const h = q.hints;
        w.message(4, () => {
          w.int64(1, h.stepMs);
          w.string(2, h.func);
          w.int64(3, h.startMs);
          w.int64(4, h.endMs);
          for (const g of h.grouping) w.string(5, g);
          w.uint(6, h.by ? 1 : 0);
          w.int64(7, h.rangeMs);
        });
      }
    });
  }
  w.packedUint(2, req.acceptedResponseTypes);
  return w.finish();
}

export interface SeriesSamples {
  labels: Labels;
  timestamps: Float64Array;
  values: Float64Array;
  /** Native histogram samples parallel to values, as Series carries them (the value slot unused). */
  histograms?: readonly (FloatHistogram | undefined)[];
}

/**
 * ReadResponse with one QueryResult per query, samples as TimeSeries (values bit-exact); native
 * histogram samples go in TimeSeries.histograms (field 4) as float histograms, which is what the
 * query path holds (Prometheus' read handler sends its float histograms so too).
 */
export function encodeReadResponse(results: SeriesSamples[][]): Buffer {
  const w = new PbWriter(1024);
  for (const series of results) {
    w.message(1, () => {
      for (const s of series) {
        w.message(1, () => {
          const p = s.labels.pairs;
          for (let i = 0; i < p.length; i += 2) {
            w.message(1, () => {
              w.string(1, p[i]);
              w.string(2, p[i + 1]);
            });
          }
          const vb = new Uint8Array(s.values.buffer, s.values.byteOffset, s.values.length * 8);
          const hs = s.histograms;
          for (let i = 0; i < s.timestamps.length; i++) {
            if (hs?.[i]) continue;
            w.message(2, () => {
              w.doubleBytes(1, vb, i * 8);
              w.int64(2, s.timestamps[i]);
            });
          }
          if (hs)
            for (let i = 0; i < s.timestamps.length; i++) {
              const h = hs[i];
              if (h) encodeHistogram(w, 4, wireFromFloatHistogram(h, s.timestamps[i], true));
            }
        });
      }
    });
  }
  return w.finish();
}

/**
 * Decodes a ReadResponse into per-query series (for tests and the querier).
 *
 *   message ReadResponse {
 *     repeated QueryResult results = 1;
 *   }
 *   message QueryResult {
 *     repeated TimeSeries timeseries = 1;
 *   }
 */
export function decodeReadResponse(buf: Buffer): SeriesSamples[][] {
  const out: SeriesSamples[][] = [];
  const r = new PbReader(buf);
  while (r.nextField()) {
    if (r.field !== 1 || r.wire !== WIRE_LEN) continue;
    const outer = r.enter();
    const series: SeriesSamples[] = [];
    while (r.nextField()) {
      if (r.field === 1 && r.wire === WIRE_LEN) series.push(decodeTimeSeriesSamples(buf, r));
    }
    r.leave(outer);
    out.push(series);
  }
  return out;
}

/**
 * Reads the TimeSeries field r stopped at, labels first (a malformed label is reported before a
 * malformed sample, whatever their order on the wire).
 *
 *   message TimeSeries {
 *     repeated Label labels         = 1;
 *     repeated Sample samples       = 2;
 *     repeated Histogram histograms = 4;
 *   }
 *
 * Float and histogram samples are merged by time into one column; on equal timestamps the float
 * comes first, as Prometheus' remote-read client prefers it.
 */
function decodeTimeSeriesSamples(buf: Buffer, r: PbReader): SeriesSamples {
  const outer = r.enter();
  const pairs: string[] = [];
  decodeLabelFields(buf, r.pos, r.end, pairs);
  const ts: number[] = [];
  const bytes: number[] = [];
  let table: HistogramTable | undefined;
  while (r.nextField()) {
    if (r.wire !== WIRE_LEN) continue;
    if (r.field === 2) {
      const sampleEnd = r.enter();
      decodeSampleBytes(r, ts, bytes);
      r.leave(sampleEnd);
    } else if (r.field === 4) decodeHistogram(r, (table ??= new HistogramTable()));
  }
  r.leave(outer);
  const values = new Float64Array(new Uint8Array(bytes).buffer);
  const labels = Labels.fromPairs(pairs);
  if (!table || table.n === 0) return { labels, timestamps: Float64Array.from(ts), values };
  return { labels, ...withHistogramRows(Float64Array.from(ts), values, table) };
}

/** Float samples and a table's histograms (in time order, as senders write them) as one column. */
function withHistogramRows(
  ft: Float64Array,
  fv: Float64Array,
  table: HistogramTable,
): Pick<SeriesSamples, 'timestamps' | 'values' | 'histograms'> {
  const n = ft.length + table.n;
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  const histograms: (FloatHistogram | undefined)[] = new Array(n);
  const order = Array.from({ length: table.n }, (_, k) => k).sort((a, b) => table.t[a] - table.t[b]);
  let i = 0;
  let j = 0;
  for (let k = 0; k < n; k++) {
    if (j >= order.length || (i < ft.length && ft[i] <= table.t[order[j]])) {
      timestamps[k] = ft[i];
      // set() of a one-element view copies the bits (NaN payloads survive).
      values.set(fv.subarray(i, i + 1), k);
      histograms[k] = undefined;
      i++;
    } else {
      timestamps[k] = table.t[order[j]];
      histograms[k] = rowToFloatHistogram(table, order[j++]);
    }
  }
  return { timestamps, values, histograms };
}

/**
 * The value's 8 bytes are kept as they are, so a NaN's payload (a stale marker) survives.
 *
 *   message Sample {
 *     double value    = 1;
 *     int64 timestamp = 2;
 *   }
 */
function decodeSampleBytes(r: PbReader, ts: number[], bytes: number[]): void {
  let t = 0;
  let at = -1;
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_FIXED64) at = r.fixed64Offset();
        break;
      case 2:
        if (r.wire === WIRE_VARINT) t = r.int64();
        break;
    }
  }
  ts.push(t);
  for (let k = 0; k < 8; k++) bytes.push(at < 0 ? 0 : r.buf[at + k]);
}

export interface ChunkToSend {
  minT: number;
  maxT: number;
  data: Uint8Array;
  /** The chunk's encoding; XOR unless set: CHUNK_TYPE_HISTOGRAM or CHUNK_TYPE_FLOAT_HISTOGRAM for native
   * histograms, or Strata's rollup side data (docs/format/rollup-read.md). */
  type?: number;
}

/** One frame of a streamed response: uvarint length, CRC32-Castagnoli (big-endian), message. */
export function encodeChunkedFrame(queryIndex: number, series: { labels: Labels; chunks: ChunkToSend[] }[]): Buffer {
  const w = new PbWriter(1024);
  for (const s of series) {
    w.message(1, () => {
      const p = s.labels.pairs;
      for (let i = 0; i < p.length; i += 2) {
        w.message(1, () => {
          w.string(1, p[i]);
          w.string(2, p[i + 1]);
        });
      }
      for (const c of s.chunks) {
        w.message(2, () => {
          w.int64(1, c.minT);
          w.int64(2, c.maxT);
          w.uint(3, c.type ?? CHUNK_TYPE_XOR);
          w.bytes(4, c.data);
        });
      }
    });
  }
  w.int64(2, queryIndex);
  const msg = w.finish();
  const head = new PbWriter(16);
  head.rawVarint(msg.length);
  const crc = Buffer.allocUnsafe(4);
  crc.writeUInt32BE(crc32c(msg), 0);
  return Buffer.concat([head.finish(), crc, msg]);
}

export interface ChunkedSeries {
  queryIndex: number;
  labels: Labels;
  chunks: { minT: number; maxT: number; type: number; data: Buffer }[];
}

/** Decodes the frames of a streamed chunked response, verifying each frame's checksum. */
export function decodeChunkedFrames(buf: Buffer): ChunkedSeries[] {
  const out: ChunkedSeries[] = [];
  const r = new PbReader(buf);
  while (!r.done) {
    const len = r.varint();
    if (r.pos + 4 + len > buf.length) throw malformed('truncated chunked read frame');
    const crc = buf.readUInt32BE(r.pos);
    const msg = buf.subarray(r.pos + 4, r.pos + 4 + len);
    r.pos += 4 + len;
    if (crc32c(msg) !== crc) throw malformed('chunked read frame checksum mismatch');
    decodeChunkedReadResponse(msg, out);
  }
  return out;
}

/**
 *   message ChunkedReadResponse {
 *     repeated ChunkedSeries chunked_series = 1;
 *     int64 query_index = 2;
 *   }
 */
function decodeChunkedReadResponse(msg: Buffer, out: ChunkedSeries[]): void {
  const m = new PbReader(msg);
  const series: Omit<ChunkedSeries, 'queryIndex'>[] = [];
  let queryIndex = 0;
  while (m.nextField()) {
    switch (m.field) {
      case 1:
        if (m.wire === WIRE_LEN) {
          const outer = m.enter();
          series.push(decodeChunkedSeries(m));
          m.leave(outer);
        }
        break;
      case 2:
        if (m.wire === WIRE_VARINT) queryIndex = m.int64();
        break;
    }
  }
  for (const s of series) out.push({ ...s, queryIndex });
}

/**
 * Labels first, as for samples (see decodeTimeSeriesSamples).
 *
 *   message ChunkedSeries {
 *     repeated Label labels = 1;
 *     repeated Chunk chunks = 2;
 *   }
 */
function decodeChunkedSeries(r: PbReader): Omit<ChunkedSeries, 'queryIndex'> {
  const pairs: string[] = [];
  decodeLabelFields(r.buf, r.pos, r.end, pairs);
  const chunks: ChunkedSeries['chunks'] = [];
  while (r.nextField()) {
    if (r.field !== 2 || r.wire !== WIRE_LEN) continue;
    const outer = r.enter();
    chunks.push(decodeChunk(r));
    r.leave(outer);
  }
  return { labels: Labels.fromPairs(pairs), chunks };
}

/**
 *   message Chunk {
 *     int64 min_time_ms = 1;
 *     int64 max_time_ms = 2;
 *     Encoding type     = 3;  // XOR = 1, HISTOGRAM = 2, FLOAT_HISTOGRAM = 3
 *     bytes data        = 4;
 *   }
 */
function decodeChunk(r: PbReader): ChunkedSeries['chunks'][number] {
  const chunk: ChunkedSeries['chunks'][number] = { minT: 0, maxT: 0, type: 0, data: Buffer.alloc(0) };
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_VARINT) chunk.minT = r.int64();
        break;
      case 2:
        if (r.wire === WIRE_VARINT) chunk.maxT = r.int64();
        break;
      case 3:
        if (r.wire === WIRE_VARINT) chunk.type = r.varint();
        break;
      case 4:
        if (r.wire === WIRE_LEN) chunk.data = r.bytes();
        break;
    }
  }
  return chunk;
}
