/**
 * io.prometheus.write.v2.Request (remote-write 2.0), from
 * prompb/io/prometheus/write/v2/types.proto; each decoder quotes the message it reads.
 */
import { StrataError, type MetricMetadata } from '@strata/model';
import { malformed, PbReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './pb-reader.js';
import { PbWriter } from './pb-writer.js';
import { checkSelectionTotal, isSelected, type SeriesSelection } from './series-selection.js';
import { decodeSample, type SeriesToWrite } from './write-v1.js';
import { decodeHistogram, encodeHistogram } from './histogram-wire.js';
import { metricTypeFromProto, metricTypeToProto, WriteBatch, type ExemplarRecord, type SeriesRecord } from './write-batch.js';

/**
 * With a selection, only the selected series are decoded.
 *
 *   message Request {
 *     reserved 1 to 3;
 *     repeated string symbols        = 4;
 *     repeated TimeSeries timeseries = 5;
 *   }
 */
export function decodeWriteRequestV2(buf: Buffer, selection?: SeriesSelection): WriteBatch {
  // Symbols may follow the series on the wire: collect both first, resolve references after.
  const symbols: string[] = [];
  const seriesRanges: number[] = [];
  const r = new PbReader(buf);
  while (r.nextField()) {
    if (r.wire !== WIRE_LEN) continue;
    switch (r.field) {
      case 4:
        symbols.push(r.string());
        break;
      case 5: {
        const outer = r.enter();
        seriesRanges.push(r.pos, r.end);
        r.leave(outer);
        break;
      }
    }
  }
  const batch = new WriteBatch(Math.max(64, buf.length >>> 4));
  const sym = (ref: number): string => {
    if (ref >= symbols.length) {
      throw new StrataError(
        'invalid-symbol-reference',
        `symbol reference ${ref} is out of range (the request has ${symbols.length} symbols)`,
      );
    }
    return symbols[ref];
  };
  if (selection) checkSelectionTotal(selection, seriesRanges.length / 2);
  for (let i = 0; i < seriesRanges.length; i += 2) {
    if (selection && !isSelected(selection, i / 2)) continue;
    batch.series.push(decodeSeries(buf, seriesRanges[i], seriesRanges[i + 1], batch, sym));
  }
  return batch;
}

/**
 *   message TimeSeries {
 *     repeated uint32 labels_refs   = 1;  // name/value pairs of symbol references
 *     repeated Sample samples       = 2;
 *     repeated Histogram histograms = 3;  // histogram-wire.ts
 *     repeated Exemplar exemplars   = 4;
 *     Metadata metadata             = 5;
 *     int64 created_timestamp       = 6;  // not used
 *   }
 */
function decodeSeries(buf: Buffer, start: number, end: number, batch: WriteBatch, sym: (ref: number) => string): SeriesRecord {
  // A reader local to this function, as in 1.0's decodeTimeSeries, for the same reason.
  const r = new PbReader(buf, start, end);
  const s: SeriesRecord = {
    labels: [],
    sampleStart: batch.numSamples,
    sampleEnd: batch.numSamples,
    histograms: 0,
    exemplars: 0,
    labelsStart: -1,
    labelsEnd: -1,
    labelsHash: 0,
    messageStart: -1,
    messageEnd: -1,
  };
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_LEN) {
          const outer = r.enter();
          while (!r.done) s.labels.push(sym(r.varint()));
          r.leave(outer);
        } else if (r.wire === WIRE_VARINT) s.labels.push(sym(r.varint())); // unpacked encoding is legal too
        break;
      case 2:
        if (r.wire === WIRE_LEN) decodeSample(r, batch);
        break;
      case 3:
        if (r.wire === WIRE_LEN) {
          const table = batch.histogramTable();
          if (s.histograms++ === 0) s.histogramStart = table.n;
          decodeHistogram(r, table);
        }
        break;
      case 4:
        if (r.wire === WIRE_LEN) {
          s.exemplars++;
          const outer = r.enter();
          (s.exemplarList ??= []).push(decodeExemplar(r, sym));
          r.leave(outer);
        }
        break;
      case 5:
        if (r.wire === WIRE_LEN) {
          const outer = r.enter();
          s.metadata = decodeMetadata(r, sym);
          r.leave(outer);
        }
        break;
    }
  }
  if (s.labels.length % 2 !== 0) throw malformed('labels_refs must hold name/value pairs');
  s.sampleEnd = batch.numSamples;
  return s;
}

/**
 *   message Exemplar {
 *     repeated uint32 labels_refs = 1;
 *     double value                = 2;
 *     int64 timestamp             = 3;
 *   }
 */
function decodeExemplar(r: PbReader, sym: (ref: number) => string): ExemplarRecord {
  const e: ExemplarRecord = { labels: [], value: 0, timestamp: 0 };
  while (r.nextField()) {
    switch (r.field) {
      case 1:
        if (r.wire === WIRE_LEN) {
          const outer = r.enter();
          while (!r.done) e.labels.push(sym(r.varint()));
          r.leave(outer);
        } else if (r.wire === WIRE_VARINT) e.labels.push(sym(r.varint()));
        break;
      case 2:
        if (r.wire === WIRE_FIXED64) e.value = r.double();
        break;
      case 3:
        if (r.wire === WIRE_VARINT) e.timestamp = r.int64();
        break;
    }
  }
  if (e.labels.length % 2 !== 0) throw malformed('exemplar labels_refs must hold name/value pairs');
  return e;
}

/**
 *   message Metadata {
 *     MetricType type = 1;
 *     uint32 help_ref = 3;
 *     uint32 unit_ref = 4;
 *   }
 */
function decodeMetadata(r: PbReader, sym: (ref: number) => string): MetricMetadata {
  let type = 0;
  let help = '';
  let unit = '';
  while (r.nextField()) {
    if (r.wire !== WIRE_VARINT) continue;
    switch (r.field) {
      case 1:
        type = r.varint();
        break;
      case 3:
        help = sym(r.varint());
        break;
      case 4:
        unit = sym(r.varint());
        break;
    }
  }
  return { type: metricTypeFromProto(type), help, unit };
}

export interface SeriesToWriteV2 extends SeriesToWrite {
  metadata?: MetricMetadata;
}

/** Encodes a remote-write 2.0 request with a de-duplicated symbol table starting with ''. */
export function encodeWriteRequestV2(series: readonly SeriesToWriteV2[]): Buffer {
  const symbols: string[] = [''];
  const index = new Map<string, number>([['', 0]]);
  const ref = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = symbols.length;
      symbols.push(s);
      index.set(s, i);
    }
    return i;
  };
  const refs = series.map((s) => s.labels.pairs.map(ref));
  const meta = series.map((s) =>
    s.metadata ? { type: metricTypeToProto(s.metadata.type), help: ref(s.metadata.help), unit: ref(s.metadata.unit) } : undefined,
  );
  const w = new PbWriter(series.length * 48 + 64);
  for (const s of symbols) {
    // Symbol 0 is the empty string and must be written explicitly to keep indexes aligned.
    if (s === '') w.bytes(4, new Uint8Array(0));
    else w.string(4, s);
  }
  series.forEach((s, i) => {
    w.message(5, () => {
      w.packedUint(1, refs[i]);
      for (let k = 0; k < s.timestamps.length; k++) {
        w.message(2, () => {
          w.double(1, s.values[k]);
          w.int64(2, s.timestamps[k]);
        });
      }
      for (const h of s.histograms ?? []) encodeHistogram(w, 3, h);
      const m = meta[i];
      if (m) {
        w.message(5, () => {
          w.uint(1, m.type);
          w.uint(3, m.help);
          w.uint(4, m.unit);
        });
      }
    });
  });
  return w.finish();
}
