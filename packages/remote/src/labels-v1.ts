/** Label fields of a remote-write 1.0 TimeSeries (prompb/types.proto). */
import { PbReader, WIRE_LEN } from './pb-reader.js';

/**
 * Decodes every Label field of a TimeSeries byte range into name/value pairs.
 *
 *   message TimeSeries {
 *     repeated Label labels = 1;
 *     ...                          // samples, exemplars, histograms: skipped here
 *   }
 */
export function decodeLabelFields(buf: Buffer, start: number, end: number, out: string[]): void {
  const r = new PbReader(buf, start, end);
  while (r.nextField()) {
    if (r.field === 1 && r.wire === WIRE_LEN) {
      const outer = r.enter();
      decodeLabel(r, out);
      r.leave(outer);
    }
  }
}

/**
 *   message Label {
 *     string name  = 1;
 *     string value = 2;
 *   }
 */
function decodeLabel(r: PbReader, out: string[]): void {
  let name = '';
  let value = '';
  while (r.nextField()) {
    if (r.wire !== WIRE_LEN) continue;
    switch (r.field) {
      case 1:
        name = r.string();
        break;
      case 2:
        value = r.string();
        break;
    }
  }
  out.push(name, value);
}
