/**
 * `npm run bench -- --sketches`: the quantile sketch of rollups chosen by measurement. Per 5m
 * window of 20 raw values (15s scrapes), one sketch; windows merged into 1h (12) and 1d (288);
 * the p50/p90/p99 of the merged sketch against the exact quantile (Prometheus' quantile_over_time
 * of the raw values), and the encoded bytes per window. DDSketch (Strata's, 1% relative accuracy)
 * against t-digest (npm `tdigest`, default compression; bytes as float64 mean + varint count per
 * centroid, the least a serialisation needs).
 */
import { createRequire } from 'node:module';
import { DDSketch } from '@strata/tsdb';
import { mulberry32 } from '@strata/model';

interface Centroid {
  mean: number;
  n: number;
}
interface TDigestLike {
  push(x: number, n?: number): void;
  push_centroid(c: Centroid[]): void;
  compress(): void;
  percentile(p: number): number;
  toArray(): Centroid[];
}
const { TDigest } = createRequire(import.meta.url)('tdigest') as { TDigest: new () => TDigestLike };

const DISTRIBUTIONS: Record<string, (r: () => number, k: number) => number> = {
  'log-normal latency': (r) => 0.05 * Math.exp(0.8 * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r())),
  'bimodal (cache hit/miss)': (r) => (r() < 0.9 ? 0.002 + 0.001 * r() : 0.2 + 0.1 * r()),
  'uniform with a daily swing': (r, k) => (1 + r()) * (2 + Math.sin((2 * Math.PI * k) / 5760)),
};

function exact(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const rank = q * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] * (1 - (rank - lo)) + s[hi] * (rank - lo);
}

function varintLen(n: number): number {
  let k = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    k++;
  }
  return k;
}

const QS = [0.5, 0.9, 0.99];
const PER_WINDOW = 20;

export function runSketchBench(seriesCount = 50): string {
  const lines: string[] = [
    `sketches: ${seriesCount} series per distribution, 5m windows of ${PER_WINDOW} values, merged to 1h (12) and 1d (288)`,
    'distribution                 sketch    merged  bytes/5m window  bytes merged  max rel. error p50 / p90 / p99 (mean p99)',
  ];
  for (const [name, gen] of Object.entries(DISTRIBUTIONS)) {
    for (const windows of [12, 288]) {
      const err = { dd: QS.map(() => 0), td: QS.map(() => 0) };
      const mean99 = { dd: 0, td: 0 };
      let ddBytes = 0;
      let tdBytes = 0;
      const merged = { dd: 0, td: 0 };
      for (let s = 0; s < seriesCount; s++) {
        const r = mulberry32(1000 * s + windows + name.length);
        const all: number[] = [];
        const dd = new DDSketch();
        const td = new TDigest();
        for (let w = 0; w < windows; w++) {
          const wdd = new DDSketch();
          const wtd = new TDigest();
          for (let i = 0; i < PER_WINDOW; i++) {
            const v = gen(r, w * PER_WINDOW + i);
            all.push(v);
            wdd.add(v);
            wtd.push(v);
          }
          wtd.compress();
          const enc = wdd.encode();
          ddBytes += enc.length;
          const cs = wtd.toArray();
          tdBytes += varintLen(cs.length) + cs.reduce((a, c) => a + 8 + varintLen(c.n), 0);
          dd.merge(DDSketch.decode(enc));
          td.push_centroid(cs);
        }
        td.compress();
        merged.dd += dd.encode().length / seriesCount;
        const mc = td.toArray();
        merged.td += (varintLen(mc.length) + mc.reduce((a, c) => a + 8 + varintLen(c.n), 0)) / seriesCount;
        QS.forEach((q, i) => {
          const x = exact(all, q);
          const e1 = Math.abs(dd.quantile(q) - x) / Math.abs(x);
          const e2 = Math.abs(td.percentile(q) - x) / Math.abs(x);
          err.dd[i] = Math.max(err.dd[i], e1);
          err.td[i] = Math.max(err.td[i], e2);
          if (q === 0.99) {
            mean99.dd += e1 / seriesCount;
            mean99.td += e2 / seriesCount;
          }
        });
      }
      const n = seriesCount * windows;
      const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
      for (const [k, label, bytes] of [
        ['dd', 'DDSketch', ddBytes],
        ['td', 't-digest', tdBytes],
      ] as const)
        lines.push(
          `${name.padEnd(28)} ${label.padEnd(9)} ${String(windows).padStart(6)}  ${(bytes / n).toFixed(1).padStart(15)}  ${merged[k].toFixed(0).padStart(12)}  ${err[k].map(pct).join(' / ')} (${pct(mean99[k])})`,
        );
    }
  }
  return lines.join('\n');
}
