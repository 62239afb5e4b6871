/** logproto.PushRequest, encoded (before snappy): what replication forwards and tests push. */
import type { Labels } from '@strata/model';
import { PbWriter } from '@strata/remote';

export interface StreamToPush {
  readonly labelsText: string;
  readonly timestampsNs: BigInt64Array;
  readonly lines: readonly string[];
  readonly metadata?: readonly (Labels | undefined)[];
}

const NS_PER_S = 1_000_000_000n;

export function encodePushRequestProto(streams: readonly StreamToPush[]): Buffer {
  const w = new PbWriter(1024);
  for (const s of streams) {
    w.message(1, () => {
      w.string(1, s.labelsText);
      for (let i = 0; i < s.lines.length; i++) {
        w.message(2, () => {
          const t = s.timestampsNs[i];
          // Timestamp nanos are 0..999,999,999 also before 1970: the floor division.
          let sec = t / NS_PER_S;
          let ns = t % NS_PER_S;
          if (ns < 0n) {
            ns += NS_PER_S;
            sec -= 1n;
          }
          w.message(1, () => {
            w.int64(1, Number(sec));
            w.int64(2, Number(ns));
          });
          w.string(2, s.lines[i]);
          const m = s.metadata?.[i];
          if (m) {
            for (let j = 0; j < m.pairs.length; j += 2) {
              w.message(3, () => {
                w.string(1, m.pairs[j]);
                w.string(2, m.pairs[j + 1]);
              });
            }
          }
        });
      }
    });
  }
  return w.finish();
}
