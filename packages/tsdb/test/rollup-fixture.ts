/**
 * Raw blocks and their 5m and 1h rollups (downsampleBlock raw -> 5m -> 1h) in a temporary folder:
 * what the tests comparing PromQL over rollups with PromQL over the raw data query.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeBlock, type BlockSeries } from '../src/block/writer.js';
import { BlockReader } from '../src/block/reader.js';
import { downsampleBlock } from '../src/downsample/downsample-block.js';
import { RES_1H, RES_5M } from '../src/downsample/rollup.js';

export interface RollupFixture {
  dir: string;
  raw: BlockReader[];
  r5m: BlockReader[];
  r1h: BlockReader[];
  close(): Promise<void>;
}

/** One raw block per `block` ms of [start, end), holding `dataset(from, to)`, each downsampled to 5m and its 5m rollup to 1h. */
export async function rollupFixture(
  start: number,
  end: number,
  block: number,
  dataset: (from: number, to: number) => BlockSeries[],
): Promise<RollupFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-rollup-'));
  const f: RollupFixture = {
    dir,
    raw: [],
    r5m: [],
    r1h: [],
    async close() {
      for (const b of [...f.raw, ...f.r5m, ...f.r1h]) await b.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  for (let b = start; b < end; b += block) {
    const meta = await writeBlock(dir, dataset(b, b + block), { minTime: b, maxTime: b + block });
    const rb = await BlockReader.openDir(path.join(dir, meta.ulid));
    f.raw.push(rb);
    const b5 = await BlockReader.openDir(path.join(dir, (await downsampleBlock(rb, dir, RES_5M)).ulid));
    f.r5m.push(b5);
    f.r1h.push(await BlockReader.openDir(path.join(dir, (await downsampleBlock(b5, dir, RES_1H)).ulid)));
  }
  return f;
}
