/**
 * Test helpers for the packed selects of query workers (selectRawInto): what a worker decodes of
 * them, and a packer that records how the packing was spread over turns of the event loop.
 */
import { Labels, RawPacker, unpackRaw, type Matcher, type Querier, type RawSeries, type Series } from '@strata/model';
import { decodeRawSeries } from '../src/raw-decode.js';

/** What a query worker decodes of selectRawInto: the packed series, equal label sets merged in order, sorted. */
export async function packedSelect(q: Querier, ms: readonly Matcher[], hints: { start: number; end: number }): Promise<Series[]> {
  const into = new RawPacker();
  await q.selectRawInto!(ms, hints, into);
  return unpackRaw(into.finish())
    .map((r) => decodeRawSeries(r, hints.start, hints.end))
    .filter((s): s is Series => s !== undefined)
    .sort((a, b) => Labels.compare(a.labels, b.labels));
}

/**
 * Records, for every series written into it, the turn of the event loop it was written in (the
 * test advances `turn`), and counts series handed over as RawSeries objects (a store that does
 * not pack itself).
 */
export class TurnRecorder extends RawPacker {
  turn = 0;
  perTurn = new Map<number, number>();
  objects = 0;
  override beginSeries(labels: Labels): void {
    this.perTurn.set(this.turn, (this.perTurn.get(this.turn) ?? 0) + 1);
    super.beginSeries(labels);
  }
  override add(s: RawSeries): void {
    this.objects++;
    super.add(s);
  }
}
