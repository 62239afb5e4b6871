/**
 * Log sampling at ingest: entries a keep rule matches are always kept; of the others, a share
 * keep_ratio is kept, chosen by a hash of the line and its timestamp. The choice depends on the
 * entry alone, so every replica of a stream keeps the same entries and a retried push keeps
 * what the first attempt kept.
 */
import type { Labels } from '@strata/model';
import type { LogSamplingConfig, LogSamplingKeepRule } from '@strata/api';
import type { PushStream } from '../push/push-stream.js';
import type { SampledOutTally } from './sampled-out.js';

export interface SampleResult {
  kept: PushStream[];
  sampledOut: number;
}

/** `tally`, when given, records each entry left out (its stream, minute and bytes) for query stats. */
export function sampleStreams(streams: PushStream[], cfg: LogSamplingConfig | undefined, tally?: SampledOutTally): SampleResult {
  if (!cfg || cfg.keepRatio >= 1) return { kept: streams, sampledOut: 0 };
  const threshold = Math.floor(cfg.keepRatio * 4294967296);
  const kept: PushStream[] = [];
  let sampledOut = 0;
  for (const s of streams) {
    // Rules on stream labels alone decide for every entry of the stream at once.
    const byLabels = cfg.keep.some((r) => !r.lineRegex && r.matchers && matchesLabels(r, s.labels, undefined));
    if (byLabels) {
      kept.push(s);
      continue;
    }
    const keep: number[] = [];
    for (let i = 0; i < s.lines.length; i++) {
      const meta = s.metadata?.[i];
      if (cfg.keep.some((r) => matchesEntry(r, s.labels, meta, s.lines[i])) || entryHash(s.lines[i], s.timestampsNs[i]) < threshold)
        keep.push(i);
      else tally?.add(s.labels, s.timestampsNs[i], Buffer.byteLength(s.lines[i]));
    }
    sampledOut += s.lines.length - keep.length;
    if (keep.length === s.lines.length) kept.push(s);
    else if (keep.length > 0) {
      kept.push({
        labels: s.labels,
        labelsText: s.labelsText,
        timestampsNs: BigInt64Array.from(keep, (k) => s.timestampsNs[k]),
        lines: keep.map((k) => s.lines[k]),
        metadata: s.metadata ? keep.map((k) => s.metadata![k]) : undefined,
      });
    }
  }
  return { kept, sampledOut };
}

function matchesLabels(r: LogSamplingKeepRule, labels: Labels, meta: Labels | undefined): boolean {
  for (const m of r.matchers ?? []) {
    const v = labels.has(m.name) ? labels.get(m.name) : (meta?.get(m.name) ?? '');
    if (!m.matches(v)) return false;
  }
  return true;
}

function matchesEntry(r: LogSamplingKeepRule, labels: Labels, meta: Labels | undefined, line: string): boolean {
  if (r.matchers && !matchesLabels(r, labels, meta)) return false;
  return !r.lineRegex || r.lineRegex.test(line);
}

/** FNV-1a over the line's UTF-16 code units and the timestamp's 8 bytes, then a final avalanche. */
export function entryHash(line: string, ts: bigint): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < line.length; i++) {
    h ^= line.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  let t = BigInt.asUintN(64, ts);
  for (let k = 0; k < 8; k++) {
    h ^= Number(t & 0xffn);
    h = Math.imul(h, 0x01000193);
    t >>= 8n;
  }
  // murmur3's finaliser: FNV's low bits alone are not uniform enough for a threshold.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
