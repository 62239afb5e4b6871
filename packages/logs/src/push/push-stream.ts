import type { Labels } from '@strata/model';

/** One stream of a push request, decoded: entries in request order (not necessarily sorted). */
export interface PushStream {
  readonly labels: Labels;
  /** The labels as the client sent them, for error messages. */
  readonly labelsText: string;
  timestampsNs: BigInt64Array;
  lines: string[];
  /** Structured metadata per entry, or undefined when no entry of the stream carries any. */
  metadata: (Labels | undefined)[] | undefined;
}

/** UTF-8 bytes of every line, as Loki counts the ingestion rate (labels and metadata left out). */
export function lineBytes(streams: readonly PushStream[]): number {
  let n = 0;
  for (const s of streams) for (const l of s.lines) n += Buffer.byteLength(l);
  return n;
}
