/**
 * The entries table of a rollup block written with a spill file (the records of a large block move
 * to disk as it is written) is byte for byte the table built in memory, and the spill file is gone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AggrEntries, AggrEntriesBuilder } from '../src/downsample/aggr-entries.js';

/** An aggregate chunk body of `n` entries (uvarint length, encoding byte, data), entry 1 absent. */
function body(k: number, n: number): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 1) {
      out.push(0);
      continue;
    }
    const len = 3 + ((k + i) % 9);
    out.push(len, 1);
    for (let b = 0; b < len; b++) out.push((k * 31 + i * 7 + b) & 0xff);
  }
  return Uint8Array.from(out);
}

test.each([10, 120_000])('%d chunks: spilled as written, the same table as in memory', async (chunks) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-aggr-entries-'));
  try {
    const spill = path.join(dir, 'aggr-entries.spill');
    const spilled = new AggrEntriesBuilder(spill);
    const memory = new AggrEntriesBuilder();
    let ref = 8;
    let spilledOnce = false;
    for (let k = 0; k < chunks; k++) {
      const b = body(k, 5 + (k % 2));
      spilled.add(ref, b);
      memory.add(ref, b);
      ref += b.length + 2;
      if (k % 100 === 99) {
        await spilled.spillIfLarge();
        spilledOnce ||= fs.existsSync(spill);
      }
    }
    // A table above 1 MiB went to disk on the way (about 25 bytes a chunk here).
    expect(spilledOnce).toBe(chunks > 50_000);
    const file = path.join(dir, 'aggr-entries');
    await spilled.writeTo(file);
    const want = memory.encode();
    expect(fs.readFileSync(file).equals(want)).toBe(true);
    expect(fs.existsSync(spill)).toBe(false);
    expect(AggrEntries.decode(want, 'test').size).toBe(chunks);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
