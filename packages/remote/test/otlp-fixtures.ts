/**
 * Test helpers for OTLP: an OTLP/JSON document (the shape the OpenTelemetry SDK's JSON exporter
 * sends) encoded as OTLP protobuf, so one fixture drives both decoders, and a reader of the
 * translated remote-write request that shows every series as one line.
 */
import { PbWriter } from '../src/pb-writer.js';
import { PbReader, WIRE_LEN } from '../src/pb-reader.js';
import { decodeWriteRequestV1 } from '../src/write-v1.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type J = any;

export function otlpJsonToProto(doc: J): Buffer {
  const w = new PbWriter();
  for (const rm of doc.resourceMetrics ?? []) {
    w.message(1, () => {
      if (rm.resource) w.message(1, () => attrs(w, 1, rm.resource.attributes));
      for (const sm of rm.scopeMetrics ?? []) {
        w.message(2, () => {
          if (sm.scope)
            w.message(1, () => {
              w.string(1, sm.scope.name ?? '');
              w.string(2, sm.scope.version ?? '');
            });
          for (const m of sm.metrics ?? []) w.message(2, () => metric(w, m));
        });
      }
    });
  }
  return Buffer.from(w.finish());
}

function metric(w: PbWriter, m: J): void {
  w.string(1, m.name ?? '');
  w.string(2, m.description ?? '');
  w.string(3, m.unit ?? '');
  const kinds: [string, number][] = [
    ['gauge', 5],
    ['sum', 7],
    ['histogram', 9],
    ['exponentialHistogram', 10],
    ['summary', 11],
  ];
  for (const [k, f] of kinds) {
    const d = m[k];
    if (!d) continue;
    w.message(f, () => {
      for (const p of d.dataPoints ?? []) w.message(1, () => point(w, k, p));
      w.uint(2, d.aggregationTemporality ?? 0);
      if (d.isMonotonic) w.uint(3, 1);
    });
  }
}

function point(w: PbWriter, kind: string, p: J): void {
  const attrField = kind === 'histogram' ? 9 : kind === 'exponentialHistogram' ? 1 : 7;
  attrs(w, attrField, p.attributes);
  fixed64(w, 2, BigInt(p.startTimeUnixNano ?? 0));
  fixed64(w, 3, BigInt(p.timeUnixNano ?? 0));
  if (kind === 'gauge' || kind === 'sum') {
    if (p.asInt !== undefined) fixed64(w, 6, BigInt.asUintN(64, BigInt(p.asInt)));
    else double(w, 4, p.asDouble ?? 0);
    for (const e of p.exemplars ?? []) w.message(5, () => exemplar(w, e));
    w.uint(8, p.flags ?? 0);
    return;
  }
  fixed64(w, 4, BigInt(p.count ?? 0));
  if (kind === 'summary') {
    double(w, 5, p.sum ?? 0);
    for (const q of p.quantileValues ?? [])
      w.message(6, () => {
        double(w, 1, q.quantile);
        double(w, 2, q.value);
      });
    w.uint(8, p.flags ?? 0);
    return;
  }
  if (p.sum !== undefined) double(w, 5, p.sum);
  if (kind === 'histogram') {
    if ((p.bucketCounts ?? []).length > 0)
      w.message(6, () => {
        for (const c of p.bucketCounts) raw64(w, BigInt(c));
      });
    if ((p.explicitBounds ?? []).length > 0)
      w.message(7, () => {
        for (const b of p.explicitBounds) rawDouble(w, b);
      });
    for (const e of p.exemplars ?? []) w.message(8, () => exemplar(w, e));
    w.uint(10, p.flags ?? 0);
    return;
  }
  // exponential
  if (p.scale) {
    w.rawVarint(6 << 3);
    w.rawVarint(zz(p.scale));
  }
  fixed64(w, 7, BigInt(p.zeroCount ?? 0));
  for (const [f, b] of [
    [8, p.positive],
    [9, p.negative],
  ] as [number, J][]) {
    if (!b) continue;
    w.message(f, () => {
      if (b.offset) {
        w.rawVarint(1 << 3);
        w.rawVarint(zz(b.offset));
      }
      if ((b.bucketCounts ?? []).length > 0)
        w.message(2, () => {
          for (const c of b.bucketCounts) w.rawVarint(Number(c));
        });
    });
  }
  w.uint(10, p.flags ?? 0);
  for (const e of p.exemplars ?? []) w.message(11, () => exemplar(w, e));
  if (p.zeroThreshold) double(w, 14, p.zeroThreshold);
}

function exemplar(w: PbWriter, e: J): void {
  attrs(w, 7, e.filteredAttributes);
  fixed64(w, 2, BigInt(e.timeUnixNano ?? 0));
  if (e.asInt !== undefined) fixed64(w, 6, BigInt.asUintN(64, BigInt(e.asInt)));
  else double(w, 3, e.asDouble ?? 0);
  if (e.spanId) w.bytes(4, Buffer.from(e.spanId, 'hex'));
  if (e.traceId) w.bytes(5, Buffer.from(e.traceId, 'hex'));
}

function attrs(w: PbWriter, field: number, list: J[] | undefined): void {
  for (const kv of list ?? [])
    w.message(field, () => {
      w.string(1, kv.key);
      w.message(2, () => anyValue(w, kv.value ?? {}));
    });
}

function anyValue(w: PbWriter, v: J): void {
  if (v.stringValue !== undefined) {
    // Written even when empty: an empty string value is still a string value.
    w.rawVarint((1 << 3) | 2);
    w.rawVarint(Buffer.byteLength(v.stringValue));
    w.raw(Buffer.from(v.stringValue));
  } else if (v.boolValue !== undefined) {
    w.rawVarint(2 << 3);
    w.rawVarint(v.boolValue ? 1 : 0);
  } else if (v.intValue !== undefined) {
    w.rawVarint(3 << 3);
    w.rawVarint(Number(v.intValue));
  } else if (v.doubleValue !== undefined) {
    w.rawVarint((4 << 3) | 1);
    rawDouble(w, v.doubleValue);
  } else if (v.arrayValue !== undefined) {
    w.message(5, () => {
      for (const x of v.arrayValue.values ?? []) w.message(1, () => anyValue(w, x));
    });
  } else if (v.kvlistValue !== undefined) {
    w.message(6, () => attrs(w, 1, v.kvlistValue.values));
  } else if (v.bytesValue !== undefined) w.bytes(7, Buffer.from(v.bytesValue, 'base64'));
}

function zz(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function fixed64(w: PbWriter, field: number, v: bigint): void {
  w.rawVarint((field << 3) | 1);
  raw64(w, v);
}

function raw64(w: PbWriter, v: bigint): void {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  w.raw(b);
}

function double(w: PbWriter, field: number, v: number): void {
  w.rawVarint((field << 3) | 1);
  rawDouble(w, v);
}

function rawDouble(w: PbWriter, v: number): void {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  w.raw(b);
}

/** Every float series of a translated request as `{labels} t=v ...`, sorted. */
export function seriesLines(request: Buffer): string[] {
  const batch = decodeWriteRequestV1(request);
  return batch.series
    .map((s) => {
      const l = batch.labelsOf(s);
      const pairs: string[] = [];
      for (let i = 0; i < l.length; i += 2) pairs.push(`${l[i]}=${JSON.stringify(l[i + 1])}`);
      const samples: string[] = [];
      for (let i = s.sampleStart; i < s.sampleEnd; i++) samples.push(`${batch.timestamps[i]}=${batch.values[i]}`);
      return `{${pairs.join(',')}}${samples.length ? ' ' + samples.join(' ') : ''}${s.histograms ? ` histograms=${s.histograms}` : ''}${s.exemplars ? ` exemplars=${s.exemplars}` : ''}`;
    })
    .sort();
}

export interface DecodedHistogram {
  labels: string[];
  count: number;
  countFloat: number | undefined;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  positiveSpans: number[];
  positiveDeltas: number[];
  negativeSpans: number[];
  negativeDeltas: number[];
  timestamp: number;
}

/** The prompb.Histogram messages of a translated request, read field by field. */
export function histogramsOf(request: Buffer): DecodedHistogram[] {
  const out: DecodedHistogram[] = [];
  const r = new PbReader(request);
  while (r.nextField()) {
    if (r.field !== 1 || r.wire !== WIRE_LEN) continue;
    const o = r.enter();
    const labels: string[] = [];
    while (r.nextField()) {
      if (r.wire !== WIRE_LEN) continue;
      if (r.field === 1) {
        const lo = r.enter();
        let n = '';
        let v = '';
        while (r.nextField()) {
          if (r.field === 1) n = r.string();
          else if (r.field === 2) v = r.string();
        }
        r.leave(lo);
        labels.push(n, v);
      } else if (r.field === 4) {
        const ho = r.enter();
        out.push(histogram(r, labels));
        r.leave(ho);
      }
    }
    r.leave(o);
  }
  return out;
}

function histogram(r: PbReader, labels: string[]): DecodedHistogram {
  const h: DecodedHistogram = {
    labels: [...labels],
    count: 0,
    countFloat: undefined,
    sum: 0,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    positiveSpans: [],
    positiveDeltas: [],
    negativeSpans: [],
    negativeDeltas: [],
    timestamp: 0,
  };
  const unzz = (n: number) => (n % 2 === 0 ? n / 2 : -(n + 1) / 2);
  const spans = (out: number[]) => {
    const o = r.enter();
    let off = 0;
    let len = 0;
    while (r.nextField()) {
      if (r.field === 1) off = unzz(r.varint());
      else if (r.field === 2) len = r.varint();
    }
    r.leave(o);
    out.push(off, len);
  };
  const deltas = (out: number[]) => {
    const o = r.enter();
    while (!r.done) out.push(unzz(r.varint()));
    r.leave(o);
  };
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        h.count = r.varint();
        break;
      case 2:
        h.countFloat = r.double();
        break;
      case 3:
        h.sum = r.double();
        break;
      case 4:
        h.schema = unzz(r.varint());
        break;
      case 5:
        h.zeroThreshold = r.double();
        break;
      case 6:
        h.zeroCount = r.varint();
        break;
      case 8:
        spans(h.negativeSpans);
        break;
      case 9:
        deltas(h.negativeDeltas);
        break;
      case 11:
        spans(h.positiveSpans);
        break;
      case 12:
        deltas(h.positiveDeltas);
        break;
      case 15:
        h.timestamp = r.int64();
        break;
    }
  }
  return h;
}
