/**
 * Loki's logproto.PushRequest (pkg/push/push.proto), after snappy:
 *   PushRequest   { repeated StreamAdapter streams = 1; }
 *   StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
 *   EntryAdapter  { google.protobuf.Timestamp timestamp = 1; string line = 2; repeated LabelPairAdapter structuredMetadata = 3; }
 *   Timestamp     { int64 seconds = 1; int32 nanos = 2; }
 *   LabelPairAdapter { string name = 1; string value = 2; }
 * A stream whose labels text is malformed does not fail the request: it is returned as a
 * rejection so the valid streams still land and the 400 names it.
 */
import { Labels, StrataError } from '@strata/model';
import { PbReader, WIRE_LEN, WIRE_VARINT } from '@strata/remote';
import { pushLabelsCache } from './parsed-labels-cache.js';
import type { PushStream } from './push-stream.js';

export interface DecodedPush {
  streams: PushStream[];
  /** Streams refused while decoding (bad labels text), in request order. */
  rejected: { labelsText: string; error: StrataError }[];
}

const NS_PER_S = 1_000_000_000n;

export function decodePushRequestProto(buf: Buffer): DecodedPush {
  const r = new PbReader(buf);
  const out: DecodedPush = { streams: [], rejected: [] };
  while (r.nextField()) {
    if (r.field !== 1 || r.wire !== WIRE_LEN) continue;
    const outer = r.enter();
    decodeStream(r, buf, out);
    r.leave(outer);
  }
  return out;
}

function decodeStream(r: PbReader, buf: Buffer, out: DecodedPush): void {
  let labelsText = '';
  const ts: bigint[] = [];
  const lines: string[] = [];
  let metadata: (Labels | undefined)[] | undefined;
  while (r.nextField()) {
    const f = r.field;
    if (r.wire !== WIRE_LEN) continue;
    if (f === 1) labelsText = r.string();
    else if (f === 2) {
      const outer = r.enter();
      let t = 0n;
      let line = '';
      let meta: string[] | undefined;
      while (r.nextField()) {
        const f = r.field;
        if (r.wire !== WIRE_LEN) continue;
        if (f === 1) {
          const o2 = r.enter();
          let seconds = 0;
          let nanos = 0;
          while (r.nextField()) {
            const g = r.field;
            if ((r.wire as number) !== WIRE_VARINT) continue;
            if (g === 1) seconds = r.int64();
            else if (g === 2) nanos = r.int64();
          }
          r.leave(o2);
          if (!Number.isSafeInteger(seconds)) throw new StrataError('invalid-request-body', 'entry timestamp seconds out of range');
          t = BigInt(seconds) * NS_PER_S + BigInt(nanos);
        } else if (f === 2) {
          const n = r.len();
          // Lines are kept as sent; invalid UTF-8 becomes U+FFFD, as Go's JSON encoding shows it on read.
          line = buf.toString('utf8', r.pos, r.pos + n);
          r.pos += n;
        } else if (f === 3) {
          const o2 = r.enter();
          let name = '';
          let value = '';
          while (r.nextField()) {
            const g = r.field;
            if (r.wire !== WIRE_LEN) continue;
            if (g === 1) name = r.string();
            else if (g === 2) value = r.string();
          }
          r.leave(o2);
          (meta ??= []).push(name, value);
        }
      }
      r.leave(outer);
      if (meta) {
        metadata ??= new Array(lines.length).fill(undefined);
        metadata.push(Labels.fromPairs(meta));
      } else metadata?.push(undefined);
      ts.push(t);
      lines.push(line);
    }
  }
  let labels: Labels;
  try {
    labels = pushLabelsCache.parse(labelsText);
  } catch (e) {
    if (!(e instanceof StrataError)) throw e;
    out.rejected.push({ labelsText, error: e });
    return;
  }
  out.streams.push({ labels, labelsText, timestampsNs: BigInt64Array.from(ts), lines, metadata });
}
