/** Label fields of a remote-write 1.0 TimeSeries: Label{1: name, 2: value}. */
import { PbReader, WIRE_LEN } from './pb-reader.js';

/** Decodes every Label field (field 1) of a TimeSeries byte range into name/value pairs. */
export function decodeLabelFields(buf: Buffer, start: number, end: number, out: string[]): void {
  const r = new PbReader(buf, start, end);
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === (1 << 3) + WIRE_LEN) {
      const n = r.len();
      const subEnd = r.pos + n;
      decodeLabel(r, subEnd, out);
      r.pos = subEnd;
    } else r.skip(tag & 7);
  }
}

function decodeLabel(r: PbReader, end: number, out: string[]): void {
  let name = '';
  let value = '';
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === (1 << 3) + WIRE_LEN) name = r.string();
    else if (tag === (2 << 3) + WIRE_LEN) value = r.string();
    else r.skip(tag & 7);
  }
  r.end = outer;
  out.push(name, value);
}

