/**
 * Validation of pushed streams against a tenant's log limits, as Loki's distributor does it:
 * a stream with bad labels is refused whole; entries that are too long, too new, too old or
 * too far out of order are refused one by one; everything else lands. The first refusal is
 * the request's 400, naming its stream.
 */
import { StrataError, type ErrorId, type Labels } from '@strata/model';
import type { PushStream } from '../push/push-stream.js';
import type { LogLimits } from './log-limits.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NS_PER_MS = 1_000_000n;

/** What validation needs to know of the tenant's head. */
export interface StreamState {
  numStreams: number;
  /** The newest timestamp of an existing stream, or undefined for a new one. */
  newest(labels: Labels): bigint | undefined;
}

export interface ValidateOptions {
  nowMs: number;
  /** Entries newer than now + this are refused (Loki's creation_grace_period, 10 min). */
  creationGracePeriodMs: number;
  /** Entries older than their stream's newest minus this are refused (Loki: max_chunk_age / 2 = 1 h). */
  outOfOrderWindowMs: number;
}

export interface ValidationResult {
  accepted: PushStream[];
  firstError?: StrataError;
  /** Refused entries by error ID (for strata_logs_discarded_entries_total). */
  discarded: Map<ErrorId, number>;
  truncatedLines: number;
  /** Indices (into the pushed streams) of the streams with at least one refused entry, ascending. */
  refusedStreams: number[];
}

export function validatePush(
  streams: readonly PushStream[],
  limits: LogLimits,
  state: StreamState,
  opts: ValidateOptions,
): ValidationResult {
  const res: ValidationResult = { accepted: [], discarded: new Map(), truncatedLines: 0, refusedStreams: [] };
  let current = -1;
  const fail = (e: StrataError, entries: number) => {
    res.firstError ??= e;
    if (res.refusedStreams[res.refusedStreams.length - 1] !== current) res.refusedStreams.push(current);
    res.discarded.set(e.id, (res.discarded.get(e.id) ?? 0) + entries);
  };
  const now = BigInt(opts.nowMs) * NS_PER_MS;
  const future = now + BigInt(opts.creationGracePeriodMs) * NS_PER_MS;
  const oldest = limits.rejectOldSamplesMaxAgeMs > 0 ? now - BigInt(limits.rejectOldSamplesMaxAgeMs) * NS_PER_MS : undefined;
  const window = BigInt(opts.outOfOrderWindowMs) * NS_PER_MS;
  let newStreams = 0;
  const seenNew = new Set<string>();
  for (const s of streams) {
    current++;
    const labelError = checkLabels(s, limits);
    if (labelError) {
      fail(labelError, s.lines.length);
      continue;
    }
    const newest = state.newest(s.labels);
    if (newest === undefined && !seenNew.has(s.labels.key())) {
      if (limits.maxGlobalStreamsPerUser > 0 && state.numStreams + newStreams >= limits.maxGlobalStreamsPerUser) {
        fail(
          err(
            'max-streams-per-tenant',
            s,
            `the tenant has its limit of ${limits.maxGlobalStreamsPerUser} active streams (max_global_streams_per_user)`,
          ),
          s.lines.length,
        );
        continue;
      }
      newStreams++;
      seenNew.add(s.labels.key());
    }
    let floor = newest === undefined ? undefined : newest - window;
    let keep: number[] | undefined;
    for (let i = 0; i < s.lines.length; i++) {
      const t = s.timestampsNs[i];
      let e: StrataError | undefined;
      const len = Buffer.byteLength(s.lines[i]);
      if (len > limits.maxLineSize) {
        if (limits.maxLineSizeTruncate) {
          s.lines[i] = truncateUtf8(s.lines[i], limits.maxLineSize);
          res.truncatedLines++;
        } else e = err('log-line-too-long', s, `line of ${len} bytes is longer than max_line_size ${limits.maxLineSize}`);
      }
      if (!e && t > future)
        e = err('log-entry-too-far-in-future', s, `entry at ${t} ns is more than ${opts.creationGracePeriodMs} ms in the future`);
      else if (!e && oldest !== undefined && t < oldest)
        e = err('log-entry-too-old', s, `entry at ${t} ns is older than reject_old_samples_max_age`);
      else if (!e && floor !== undefined && t < floor)
        e = err(
          'log-entry-out-of-order',
          s,
          `entry at ${t} ns is older than the stream's newest entry minus ${opts.outOfOrderWindowMs} ms`,
        );
      if (e) {
        fail(e, 1);
        keep ??= Array.from({ length: i }, (_, k) => k);
        continue;
      }
      keep?.push(i);
      const f = t - window;
      if (floor === undefined || f > floor) floor = f;
    }
    if (!keep) res.accepted.push(s);
    else if (keep.length > 0) {
      res.accepted.push({
        labels: s.labels,
        labelsText: s.labelsText,
        timestampsNs: BigInt64Array.from(keep, (k) => s.timestampsNs[k]),
        lines: keep.map((k) => s.lines[k]),
        metadata: s.metadata ? keep.map((k) => s.metadata![k]) : undefined,
      });
    }
  }
  return res;
}

function checkLabels(s: PushStream, limits: LogLimits): StrataError | undefined {
  const p = s.labels.pairs;
  if (p.length / 2 > limits.maxLabelNamesPerStream) {
    return err(
      'max-label-names-per-stream',
      s,
      `${p.length / 2} labels, more than max_label_names_per_stream ${limits.maxLabelNamesPerStream}`,
    );
  }
  for (let i = 0; i < p.length; i += 2) {
    if (!LABEL_NAME.test(p[i])) return err('invalid-label-name', s, `label name ${JSON.stringify(p[i])} is not [a-zA-Z_][a-zA-Z0-9_]*`);
    if (limits.maxLabelNameLength > 0 && p[i].length > limits.maxLabelNameLength) {
      return err('label-name-too-long', s, `label name ${p[i].slice(0, 40)}… is longer than ${limits.maxLabelNameLength}`);
    }
    if (limits.maxLabelValueLength > 0 && p[i + 1].length > limits.maxLabelValueLength) {
      return err('label-value-too-long', s, `value of ${p[i]} is longer than ${limits.maxLabelValueLength}`);
    }
  }
  return undefined;
}

function err(id: ErrorId, s: PushStream, what: string): StrataError {
  const text = s.labelsText.length > 300 ? s.labelsText.slice(0, 300) + '…' : s.labelsText;
  return new StrataError(id, `stream ${text}: ${what}`);
}

/** The longest prefix of at most `max` UTF-8 bytes that does not split a character. */
export function truncateUtf8(s: string, max: number): string {
  const b = Buffer.from(s);
  let end = max;
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--;
  return b.toString('utf8', 0, end);
}
