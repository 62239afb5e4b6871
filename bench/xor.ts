/**
 * `npm run bench -- --xor`: ns per sample of the XOR chunk decoders over the dashboard
 * benchmark's data (120-sample chunks of counters and gauges): the general iterator
 * (XORIterator) and the bulk decoder the block reader uses (decodeXORInto).
 */
import { decodeXORInto, XOREncoder, XORIterator } from '@strata/tsdb';
import { dashboardSeries, sampleValue, SCRAPE_MS } from './dashboard-data.js';

function chunks(): Uint8Array[] {
  const out: Uint8Array[] = [];
  dashboardSeries().forEach((s, si) => {
    for (let c = 0; c < 4; c++) {
      const e = new XOREncoder();
      for (let k = c * 120; k < (c + 1) * 120; k++) e.append(1_700_000_000_000 + k * SCRAPE_MS, sampleValue(s, si, k));
      out.push(e.bytes().slice());
    }
  });
  return out;
}

function time(label: string, samples: number, rounds: number, fn: () => number): string {
  fn();
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    // CPU time, not wall time: on a shared machine the process is often descheduled mid-round.
    const c0 = process.cpuUsage();
    sink += fn();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) * 1000);
  }
  if (sink === 0.5) process.stdout.write('');
  return `| ${label} | ${(best / samples).toFixed(1)} |`;
}

export function runXorBench(rounds = 40): string {
  const cs = chunks();
  const samples = cs.length * 120;
  const ts = new Float64Array(120);
  const vs = new Float64Array(120);
  return [
    `## XOR decoding: ${cs.length} chunks of 120 samples (the dashboard data), best of ${rounds}, CPU time`,
    '',
    '| decoder | ns per sample |',
    '|---|---|',
    time('XORIterator (next, t, hi, lo)', samples, rounds, () => {
      let s = 0;
      for (const c of cs) {
        const it = new XORIterator(c);
        while (it.next()) s += it.lo;
      }
      return s;
    }),
    time('decodeXORInto (into Float64Arrays)', samples, rounds, () => {
      let s = 0;
      for (const c of cs) s += decodeXORInto(c, ts, vs, 0);
      return s;
    }),
  ].join('\n');
}
