/**
 * The rate_sum and rate_avg outputs, computed as VictoriaMetrics computes them so that rules
 * give the same figures in both systems: per input series and interval, the counter increase
 * since the series' last sample of its previous interval with samples (a drop is a reset),
 * divided by the seconds from that sample to the series' last sample in this interval. A series
 * seen for the first time (or again after its staleness interval) starts from its first sample,
 * so with a single sample in its first interval it has no rate there. A group adds the rates of
 * its series up (rate_sum) or averages them over the series that have one (rate_avg); a group
 * none of whose series has a rate writes neither.
 *
 * A series' rate is known only once its interval is over, so it is added to the interval's
 * Partial when the series' next interval begins or when the Partial leaves for the group's
 * owner, whichever comes first (the receiver aggregating the series is the only one that can).
 */
import { seriesKey, type Partial } from './partial.js';

/** One input series' rate state for one rule. */
export class SeriesRate {
  /** The interval's Partial its open rate goes to; undefined once settled. */
  private open: Partial | undefined;
  /** The open rate goes to the Partial's movers under this series key (NaN: to its sums). */
  private openMover = NaN;
  private increase = 0;
  private lastT = -Infinity;
  /** The last sample of the previous interval with samples (the first sample, for a new series). */
  private prevT = -Infinity;
  /** The last rate added to a Partial's sums, so that a move can take it back while the Partial is open. */
  private settled: Partial | undefined;
  private settledIncrease = 0;
  private settledSeconds = 0;

  /**
   * A sample at t (ms) in the interval of `p`; `delta` is the increase since the series' previous
   * sample; `moved` the series' label pairs when the interval counts it as moved (a ring change).
   */
  add(p: Partial, t: number, delta: number, moved: readonly string[] | undefined): void {
    if (this.open !== p) {
      if (this.open !== undefined) this.settle();
      if (this.prevT === -Infinity) this.prevT = t;
      this.open = p;
      this.openMover = moved ? seriesKey(moved) : NaN;
      (p.openRates ??= []).push(this);
    }
    this.increase += delta;
    this.lastT = t;
  }

  /**
   * The series left this receiver (a ring change): its rates in intervals not sent yet become
   * the moved series `key`'s part (the receiver it went to reports its own part likewise).
   */
  moveOut(key: number): void {
    const s = this.settled;
    if (s !== undefined && !s.closed) {
      s.rateSum -= this.settledIncrease / this.settledSeconds;
      s.rateSeries--;
      s.moverRate(key, this.settledIncrease, this.settledSeconds);
    }
    this.settled = undefined;
    if (this.open !== undefined && Number.isNaN(this.openMover)) this.openMover = key;
  }

  settleIn(p: Partial): void {
    if (this.open === p) this.settle();
  }

  /** Adds the rate of the open interval to its Partial; the interval's last sample becomes the next one's start. */
  private settle(): void {
    const p = this.open!;
    const seconds = (this.lastT - this.prevT) / 1000;
    if (!Number.isNaN(this.openMover)) {
      p.moverRate(this.openMover, this.increase, seconds);
      this.settled = undefined;
    } else if (seconds > 0) {
      p.rateSum += this.increase / seconds;
      p.rateSeries++;
      this.settled = p;
      this.settledIncrease = this.increase;
      this.settledSeconds = seconds;
    }
    this.prevT = this.lastT;
    this.increase = 0;
    this.open = undefined;
  }
}

/** Settles the rates still open in `p`, before it is merged or sent. */
export function settleRates(p: Partial): void {
  const open = p.openRates;
  if (!open) return;
  p.openRates = undefined;
  // A series whose next interval has begun settled this one then, and is open elsewhere now.
  for (const r of open) r.settleIn(p);
}
