/**
 * Loki's JSON push body: {"streams":[{"stream":{"app":"x"},"values":[["<ns>","line",{"k":"v"}]]}]}.
 * Timestamps are strings of Unix nanoseconds (numbers are taken too when they are integers).
 * A stream with bad labels is a rejection (the others still land); a body that is not this
 * shape at all is a 400 for the whole request.
 */
import { Labels, StrataError } from '@strata/model';
import { labelsFromPairs } from './labels-text.js';
import type { DecodedPush } from './decode-proto.js';

function invalid(what: string): StrataError {
  return new StrataError('invalid-request-body', `malformed JSON push body: ${what}`);
}

const NS_DIGITS = /^-?\d{1,19}$/;

export function decodePushRequestJson(text: string): DecodedPush {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw invalid((e as Error).message);
  }
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { streams?: unknown }).streams)) {
    throw invalid('expected an object with a "streams" array');
  }
  const out: DecodedPush = { streams: [], rejected: [] };
  const streams = (body as { streams: unknown[] }).streams;
  for (let si = 0; si < streams.length; si++) {
    const s = streams[si] as { stream?: unknown; values?: unknown };
    if (typeof s !== 'object' || s === null) throw invalid(`streams[${si}] is not an object`);
    const stream = s.stream ?? {};
    if (typeof stream !== 'object' || stream === null || Array.isArray(stream)) throw invalid(`streams[${si}].stream is not an object`);
    const pairs: string[] = [];
    for (const [k, v] of Object.entries(stream)) {
      if (typeof v !== 'string') throw invalid(`streams[${si}].stream.${k} is not a string`);
      pairs.push(k, v);
    }
    const labelsText = textOf(pairs);
    const values = s.values ?? [];
    if (!Array.isArray(values)) throw invalid(`streams[${si}].values is not an array`);
    const ts = new BigInt64Array(values.length);
    const lines: string[] = new Array(values.length);
    let metadata: (Labels | undefined)[] | undefined;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as unknown[];
      if (!Array.isArray(v) || v.length < 2 || v.length > 3)
        throw invalid(`streams[${si}].values[${i}] is not [ts, line] or [ts, line, metadata]`);
      ts[i] = nanos(v[0], si, i);
      if (typeof v[1] !== 'string') throw invalid(`streams[${si}].values[${i}][1] is not a string`);
      lines[i] = v[1];
      if (v.length === 3 && v[2] !== null) {
        const m = v[2];
        if (typeof m !== 'object' || Array.isArray(m)) throw invalid(`streams[${si}].values[${i}][2] is not an object`);
        const mp: string[] = [];
        for (const [k, mv] of Object.entries(m as object)) {
          if (typeof mv !== 'string') throw invalid(`streams[${si}].values[${i}][2].${k} is not a string`);
          mp.push(k, mv);
        }
        if (mp.length > 0) {
          metadata ??= new Array(values.length).fill(undefined);
          metadata[i] = Labels.fromPairs(mp);
        }
      }
    }
    let labels: Labels;
    try {
      labels = labelsFromPairs(pairs, labelsText);
    } catch (e) {
      if (!(e instanceof StrataError)) throw e;
      out.rejected.push({ labelsText, error: e });
      continue;
    }
    out.streams.push({ labels, labelsText, timestampsNs: ts, lines, metadata });
  }
  return out;
}

function textOf(pairs: string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < pairs.length; i += 2) parts.push(`${pairs[i]}=${JSON.stringify(pairs[i + 1])}`);
  return `{${parts.join(', ')}}`;
}

function nanos(v: unknown, si: number, i: number): bigint {
  if (typeof v === 'string' && NS_DIGITS.test(v)) {
    const t = BigInt(v);
    if (t >= -(2n ** 63n) && t < 2n ** 63n) return t;
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw invalid(`streams[${si}].values[${i}][0] is not a timestamp in nanoseconds`);
}
