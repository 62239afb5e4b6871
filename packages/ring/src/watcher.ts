/**
 * Reloads hashrings.json when it changes. Polling (not fs.watch, which editors' rename-on-save
 * defeats); a bad edit keeps the previous rings and reports the error.
 */
import fs from 'node:fs';
import { parseHashrings, type HashringConfig } from './config.js';

export function watchHashrings(
  file: string,
  onChange: (cfg: HashringConfig[]) => void,
  opts: { intervalMs: number; onError?: (e: Error) => void },
): () => void {
  let last = '';
  const check = () => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      opts.onError?.(e as Error);
      return;
    }
    if (text === last) return;
    try {
      const cfg = parseHashrings(text, file);
      last = text;
      onChange(cfg);
    } catch (e) {
      last = text; // report a bad edit once, keep the old rings
      opts.onError?.(e as Error);
    }
  };
  check();
  const timer = setInterval(check, opts.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
