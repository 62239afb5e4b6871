/**
 * io.prometheus.write.v2.Request (remote-write 2.0), field numbers from
 * prompb/io/prometheus/write/v2/types.proto: Request{4: symbols, 5: timeseries};
 * TimeSeries{1: labels_refs packed uint32, 2: samples, 3: histograms, 4: exemplars, 5: metadata,
 * 6: created_timestamp}; Metadata{1: type, 3: help_ref, 4: unit_ref}.
 */
import { StrataError, type MetricMetadata } from '@strata/model';
import { malformed, PbReader, WIRE_LEN, WIRE_VARINT } from './pb-reader.js';
import { PbWriter } from './pb-writer.js';
import { checkSelectionTotal, isSelected, type SeriesSelection } from './series-selection.js';
import { decodeSample, type SeriesToWrite } from './write-v1.js';
import { metricTypeFromProto, metricTypeToProto, WriteBatch, type SeriesRecord } from './write-batch.js';

/** With a selection, only the selected series are decoded. */
export function decodeWriteRequestV2(buf: Buffer, selection?: SeriesSelection): WriteBatch {
  // Symbols may follow the series on the wire: collect both first, resolve references after.
  const symbols: string[] = [];
  const seriesRanges: number[] = [];
  const r = new PbReader(buf);
  while (!r.done) {
    const tag = r.tag();
    if (tag === (4 << 3) + WIRE_LEN) symbols.push(r.string());
    else if (tag === (5 << 3) + WIRE_LEN) {
      const n = r.len();
      seriesRanges.push(r.pos, r.pos + n);
      r.pos += n;
    } else r.skip(tag & 7);
  }
  const batch = new WriteBatch(Math.max(64, buf.length >>> 4));
  const sym = (ref: number): string => {
    if (ref >= symbols.length) {
      throw new StrataError('invalid-symbol-reference', `symbol reference ${ref} is out of range (the request has ${symbols.length} symbols)`);
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

function decodeSeries(buf: Buffer, start: number, end: number, batch: WriteBatch, sym: (ref: number) => string): SeriesRecord {
  const r = new PbReader(buf, start, end);
  const s: SeriesRecord = { labels: [], sampleStart: batch.numSamples, sampleEnd: batch.numSamples, histograms: 0, exemplars: 0, labelsStart: -1, labelsEnd: -1, labelsHash: 0, messageStart: -1, messageEnd: -1 };
  while (!r.done) {
    const tag = r.tag();
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (field === 1 && wt === WIRE_LEN) {
      const n = r.len();
      const sub = new PbReader(buf, r.pos, r.pos + n);
      while (!sub.done) s.labels.push(sym(sub.varint()));
      r.pos += n;
    } else if (field === 1 && wt === WIRE_VARINT) {
      s.labels.push(sym(r.varint())); // unpacked encoding is legal too
    } else if (wt === WIRE_LEN && field >= 2 && field <= 5) {
      const n = r.len();
      const sub = new PbReader(buf, r.pos, r.pos + n);
      r.pos += n;
      if (field === 2) decodeSample(sub, batch);
      else if (field === 3) s.histograms++;
      else if (field === 4) s.exemplars++;
      else s.metadata = decodeMetadata(sub, sym);
    } else r.skip(wt);
  }
  if (s.labels.length % 2 !== 0) throw malformed('labels_refs must hold name/value pairs');
  s.sampleEnd = batch.numSamples;
  return s;
}

function decodeMetadata(r: PbReader, sym: (ref: number) => string): MetricMetadata {
  let type = 0;
  let help = '';
  let unit = '';
  while (!r.done) {
    const tag = r.tag();
    if (tag === (1 << 3) + WIRE_VARINT) type = r.varint();
    else if (tag === (3 << 3) + WIRE_VARINT) help = sym(r.varint());
    else if (tag === (4 << 3) + WIRE_VARINT) unit = sym(r.varint());
    else r.skip(tag & 7);
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
  const meta = series.map((s) => (s.metadata ? { type: metricTypeToProto(s.metadata.type), help: ref(s.metadata.help), unit: ref(s.metadata.unit) } : undefined));
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
