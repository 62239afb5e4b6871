/**
 * One answer from several sources' answers (receivers holding RF replicas of each stream, the
 * bucket's blocks beside a head): each stream once, its entries merged in timestamp order, an
 * entry held by several sources (same timestamp and line) kept once, cut to the hints' limit as
 * one source's head cuts it.
 */
import type { Labels } from '@strata/model';
import type { LogSelectHints, LogStreamEntries } from '../types.js';
import { finish, gatherEntries } from '../head/log-head.js';

export function mergeStreams(
  sources: readonly (readonly LogStreamEntries[])[],
  hints: Pick<LogSelectHints, 'limit' | 'direction'>,
): LogStreamEntries[] {
  const byKey = new Map<string, { labels: Labels; parts: LogStreamEntries[] }>();
  for (const src of sources) {
    for (const s of src) {
      const k = s.labels.key();
      const e = byKey.get(k);
      if (e) e.parts.push(s);
      else byKey.set(k, { labels: s.labels, parts: [s] });
    }
  }
  const out: LogStreamEntries[] = [];
  for (const { labels, parts } of byKey.values()) {
    if (parts.length === 1 && hints.limit === undefined) {
      out.push(parts[0]);
      continue;
    }
    const e = finish(labels, gatherEntries(parts), hints);
    if (e) out.push(e);
  }
  return out;
}
