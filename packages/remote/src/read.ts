/**
 * Remote-read wire formats (prompb/remote.proto): ReadRequest{1: queries, 2: accepted_response_types};
 * Query{1: start_timestamp_ms, 2: end_timestamp_ms, 3: matchers, 4: hints}; LabelMatcher{1: type,
 * 2: name, 3: value}; ReadHints{1: step_ms, 2: func, 3: start_ms, 4: end_ms, 5: grouping, 6: by,
 * 7: range_ms}; ReadResponse{1: results}; QueryResult{1: timeseries}; ChunkedReadResponse{1:
 * chunked_series, 2: query_index}; ChunkedSeries{1: labels, 2: chunks}; Chunk{1: min_time_ms,
 * 2: max_time_ms, 3: type, 4: data}.
 */
import { crc32c } from '@node-rs/crc32';
import { Labels, Matcher, StrataError, type MatchType } from '@strata/model';
import { malformed, PbReader, WIRE_LEN, WIRE_VARINT } from './pb-reader.js';
import { PbWriter } from './pb-writer.js';
import { decodeLabelFields } from './labels-v1.js';

export const RESPONSE_SAMPLES = 0;
export const RESPONSE_STREAMED_XOR_CHUNKS = 1;
export const CHUNK_TYPE_XOR = 1;
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

export function decodeReadRequest(buf: Buffer): ReadRequest {
  const r = new PbReader(buf);
  const req: ReadRequest = { queries: [], acceptedResponseTypes: [] };
  while (!r.done) {
    const tag = r.tag();
    if (tag === (1 << 3) + WIRE_LEN) {
      const n = r.len();
      req.queries.push(decodeQuery(new PbReader(buf, r.pos, r.pos + n)));
      r.pos += n;
    } else if (tag === (2 << 3) + WIRE_VARINT) req.acceptedResponseTypes.push(r.varint());
    else if (tag === (2 << 3) + WIRE_LEN) {
      const n = r.len();
      const sub = new PbReader(buf, r.pos, r.pos + n);
      while (!sub.done) req.acceptedResponseTypes.push(sub.varint());
      r.pos += n;
    } else r.skip(tag & 7);
  }
  return req;
}

function decodeQuery(r: PbReader): ReadQuery {
  const q: ReadQuery = { startMs: 0, endMs: 0, matchers: [] };
  while (!r.done) {
    const tag = r.tag();
    if (tag === (1 << 3) + WIRE_VARINT) q.startMs = r.int64();
    else if (tag === (2 << 3) + WIRE_VARINT) q.endMs = r.int64();
    else if (tag === (3 << 3) + WIRE_LEN) {
      const n = r.len();
      const sub = new PbReader(r.buf, r.pos, r.pos + n);
      r.pos += n;
      let type = 0;
      let name = '';
      let value = '';
      while (!sub.done) {
        const t = sub.tag();
        if (t === (1 << 3) + WIRE_VARINT) type = sub.varint();
        else if (t === (2 << 3) + WIRE_LEN) name = sub.string();
        else if (t === (3 << 3) + WIRE_LEN) value = sub.string();
        else sub.skip(t & 7);
      }
      if (!MATCH_TYPES[type]) throw malformed(`unknown matcher type ${type}`);
      try {
        q.matchers.push(new Matcher(MATCH_TYPES[type], name, value));
      } catch (e) {
        throw new StrataError('bad-query', `invalid regular expression in matcher ${name}: ${(e as Error).message}`);
      }
    } else if (tag === (4 << 3) + WIRE_LEN) {
      const n = r.len();
      q.hints = decodeHints(new PbReader(r.buf, r.pos, r.pos + n));
      r.pos += n;
    } else r.skip(tag & 7);
  }
  return q;
}

function decodeHints(r: PbReader): ReadHints {
  const h: ReadHints = { stepMs: 0, func: '', startMs: 0, endMs: 0, grouping: [], by: false, rangeMs: 0 };
  while (!r.done) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) + WIRE_VARINT: h.stepMs = r.int64(); break;
      case (2 << 3) + WIRE_LEN: h.func = r.string(); break;
      case (3 << 3) + WIRE_VARINT: h.startMs = r.int64(); break;
      case (4 << 3) + WIRE_VARINT: h.endMs = r.int64(); break;
      case (5 << 3) + WIRE_LEN: h.grouping.push(r.string()); break;
      case (6 << 3) + WIRE_VARINT: h.by = r.varint() !== 0; break;
      case (7 << 3) + WIRE_VARINT: h.rangeMs = r.int64(); break;
      default: r.skip(tag & 7);
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
}

/** ReadResponse with one QueryResult per query, samples as TimeSeries (values bit-exact). */
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
          for (let i = 0; i < s.timestamps.length; i++) {
            w.message(2, () => {
              w.doubleBytes(1, vb, i * 8);
              w.int64(2, s.timestamps[i]);
            });
          }
        });
      }
    });
  }
  return w.finish();
}

/** Decodes a ReadResponse into per-query series (for tests and the querier). */
export function decodeReadResponse(buf: Buffer): SeriesSamples[][] {
  const out: SeriesSamples[][] = [];
  const r = new PbReader(buf);
  while (!r.done) {
    const tag = r.tag();
    if (tag !== (1 << 3) + WIRE_LEN) {
      r.skip(tag & 7);
      continue;
    }
    const n = r.len();
    const qr = new PbReader(buf, r.pos, r.pos + n);
    r.pos += n;
    const series: SeriesSamples[] = [];
    while (!qr.done) {
      const t = qr.tag();
      if (t !== (1 << 3) + WIRE_LEN) {
        qr.skip(t & 7);
        continue;
      }
      const m = qr.len();
      series.push(decodeTimeSeriesSamples(buf, qr.pos, qr.pos + m));
      qr.pos += m;
    }
    out.push(series);
  }
  return out;
}

function decodeTimeSeriesSamples(buf: Buffer, start: number, end: number): SeriesSamples {
  const pairs: string[] = [];
  decodeLabelFields(buf, start, end, pairs);
  const ts: number[] = [];
  const bytes: number[] = [];
  const r = new PbReader(buf, start, end);
  while (!r.done) {
    const tag = r.tag();
    if (tag !== (2 << 3) + WIRE_LEN) {
      r.skip(tag & 7);
      continue;
    }
    const n = r.len();
    const s = new PbReader(buf, r.pos, r.pos + n);
    r.pos += n;
    let t = 0;
    let at = -1;
    while (!s.done) {
      const x = s.tag();
      if (x === (1 << 3) + 1) at = s.fixed64Offset();
      else if (x === (2 << 3) + WIRE_VARINT) t = s.int64();
      else s.skip(x & 7);
    }
    ts.push(t);
    for (let k = 0; k < 8; k++) bytes.push(at < 0 ? 0 : buf[at + k]);
  }
  const values = new Float64Array(new Uint8Array(bytes).buffer);
  return { labels: Labels.fromPairs(pairs), timestamps: Float64Array.from(ts), values };
}

export interface ChunkToSend {
  minT: number;
  maxT: number;
  data: Uint8Array;
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
          w.uint(3, CHUNK_TYPE_XOR);
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
    const m = new PbReader(msg);
    const series: Omit<ChunkedSeries, 'queryIndex'>[] = [];
    let queryIndex = 0;
    while (!m.done) {
      const tag = m.tag();
      if (tag === (2 << 3) + WIRE_VARINT) queryIndex = m.int64();
      else if (tag === (1 << 3) + WIRE_LEN) {
        const n = m.len();
        const end = m.pos + n;
        const pairs: string[] = [];
        decodeLabelFields(msg, m.pos, end, pairs);
        const chunks: ChunkedSeries['chunks'] = [];
        const cs = new PbReader(msg, m.pos, end);
        while (!cs.done) {
          const t = cs.tag();
          if (t !== (2 << 3) + WIRE_LEN) {
            cs.skip(t & 7);
            continue;
          }
          const cl = cs.len();
          const c = new PbReader(msg, cs.pos, cs.pos + cl);
          cs.pos += cl;
          const chunk: ChunkedSeries['chunks'][number] = { minT: 0, maxT: 0, type: 0, data: Buffer.alloc(0) };
          while (!c.done) {
            const ct = c.tag();
            if (ct === (1 << 3) + WIRE_VARINT) chunk.minT = c.int64();
            else if (ct === (2 << 3) + WIRE_VARINT) chunk.maxT = c.int64();
            else if (ct === (3 << 3) + WIRE_VARINT) chunk.type = c.varint();
            else if (ct === (4 << 3) + WIRE_LEN) {
              const dl = c.len();
              chunk.data = msg.subarray(c.pos, c.pos + dl);
              c.pos += dl;
            } else c.skip(ct & 7);
          }
          chunks.push(chunk);
        }
        series.push({ labels: Labels.fromPairs(pairs), chunks });
        m.pos = end;
      } else m.skip(tag & 7);
    }
    for (const s of series) out.push({ ...s, queryIndex });
  }
  return out;
}
