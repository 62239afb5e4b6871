/** Numeric helpers shared by functions and aggregations, with Prometheus' exact conventions. */

/**
 * One step of Kahan-Neumaier summation. Once the sum is infinite the compensation is reset, or
 * Inf - Inf would turn the result into NaN.
 */
export function kahanInc(inc: number, sum: number, c: number): [sum: number, c: number] {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) return [t, 0];
  if (Math.abs(sum) >= Math.abs(inc)) return [t, c + (sum - t + inc)];
  return [t, c + (inc - t + sum)];
}

/**
 * kahanInc on slot `g` of a sum and its compensation, in place: an aggregation adds once per
 * series and step, and the pair kahanInc returns would be one more array for the collector each.
 */
export function kahanIncAt(sums: Float64Array, comps: Float64Array, g: number, inc: number): void {
  const sum = sums[g];
  const t = sum + inc;
  sums[g] = t;
  if (t === Infinity || t === -Infinity) comps[g] = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) comps[g] += sum - t + inc;
  else comps[g] += inc - t + sum;
}

/** Prometheus' quantile over unsorted values: linear interpolation; <0 is -Inf, >1 is +Inf. */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort((a, b) => (Number.isNaN(a) ? -1 : Number.isNaN(b) ? 1 : a - b));
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower] * (1 - weight) + sorted[upper] * weight;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent. */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  if (!/e/i.test(s)) return s;
  const [mant, expS] = s.split(/e/i);
  const exp = Number(expS);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const pointAt = (mant.replace('-', '').indexOf('.') < 0 ? mant.replace('-', '').length : mant.replace('-', '').indexOf('.')) + exp;
  let out: string;
  if (pointAt <= 0) out = '0.' + '0'.repeat(-pointAt) + digits;
  else if (pointAt >= digits.length) out = digits + '0'.repeat(pointAt - digits.length);
  else out = digits.slice(0, pointAt) + '.' + digits.slice(pointAt);
  return (neg ? '-' : '') + out;
}

/**
 * Prometheus' mean: a compensated sum while it stays finite, switching to an incremental mean
 * once the sum would overflow (so avg of huge values is not Inf, and +Inf with -Inf is NaN).
 */
export class MeanAccumulator {
  private n = 0;
  private sum = 0;
  private c = 0;
  private mean = 0;
  private incremental = false;

  add(x: number): void {
    this.n++;
    if (!this.incremental) {
      const [s, c] = kahanInc(x, this.sum, this.c);
      if (s !== Infinity && s !== -Infinity) {
        this.sum = s;
        this.c = c;
        return;
      }
      this.incremental = true;
      this.mean = this.n > 1 ? this.sum / (this.n - 1) : 0;
      this.c = this.n > 1 ? this.c / (this.n - 1) : 0;
    }
    const q = (this.n - 1) / this.n;
    [this.mean, this.c] = kahanInc(x / this.n, q * this.mean, q * this.c);
  }

  value(): number {
    return this.incremental ? this.mean + this.c : (this.sum + this.c) / this.n;
  }
}
