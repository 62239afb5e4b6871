/**
 * The conformance baseline: evals that must keep passing, per group. The file holds lines
 * "stable N" and "native-histograms N", and optionally "experimental N" (0 when absent); a bare
 * number is the stable count (the older format).
 */
import fs from 'node:fs';

export interface Baseline {
  stable: number;
  nativeHistograms: number;
  experimental: number;
}

export function readBaseline(file: string): Baseline {
  const text = fs.readFileSync(file, 'utf8').trim();
  if (/^\d+$/.test(text)) return { stable: Number(text), nativeHistograms: 0, experimental: 0 };
  const get = (name: string, optional = false): number => {
    const m = new RegExp(`^${name}\\s+(\\d+)$`, 'm').exec(text);
    if (!m && optional) return 0;
    if (!m) throw new Error(`${file}: no "${name} N" line`);
    return Number(m[1]);
  };
  return { stable: get('stable'), nativeHistograms: get('native-histograms'), experimental: get('experimental', true) };
}
