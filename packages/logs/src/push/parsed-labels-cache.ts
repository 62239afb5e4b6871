/**
 * Stream labels parsed from their text, kept across pushes: a client sends the same few thousand
 * streams in every request, and parsing each one's `{app="api", ...}` anew (with the sort, the
 * duplicate check and the key the head looks it up by) cost more than storing its line. Labels
 * are immutable, so one instance serves every push of a stream, and its cached key() with it.
 * Bounded: two generations of at most `max` texts; a text not seen for a whole generation is
 * parsed again. Malformed texts are not kept (their error is raised on every push).
 */
import type { Labels } from '@strata/model';
import { parseLabelsText } from './labels-text.js';

export class ParsedLabelsCache {
  private current = new Map<string, Labels>();
  private previous = new Map<string, Labels>();

  constructor(private readonly max: number) {}

  /** The labels of `text`, as parseLabelsText gives them (and throws for them). */
  parse(text: string): Labels {
    let l = this.current.get(text);
    if (l) return l;
    l = this.previous.get(text) ?? parseLabelsText(text);
    if (this.current.size >= this.max) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(text, l);
    return l;
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}

/** Shared by every push decoder of the process: a receiver's active streams, twice over at most. */
export const pushLabelsCache = new ParsedLabelsCache(50_000);
