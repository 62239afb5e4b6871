/**
 * The streaming block writer and the sequential series scan: byte-wise label order without
 * encoding strings, refusal of out-of-order input (it would encode garbage), nothing left behind
 * by an aborted block, and scanSeries (any window size) reading exactly what postings lookups read.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels } from '@strata/model';
import { BlockReader, BlockWriter, compareBytes, XOREncoder, type BlockChunk } from '@strata/tsdb';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bw-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function chunk(from: number, n: number, v: number): BlockChunk {
  const enc = new XOREncoder();
  for (let k = 0; k < n; k++) enc.append(from + k * 1000, v + k);
  return { minT: from, maxT: from + (n - 1) * 1000, data: enc.bytes().slice() };
}

describe('compareBytes', () => {
  test('orders as the UTF-8 bytes do (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(Math.sign(compareBytes(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('BlockWriter', () => {
  test('refuses series out of label order and chunks out of time order, and abort leaves nothing', async () => {
    const dir = tmp();
    const a = Labels.fromObject({ __name__: 'a' });
    const b = Labels.fromObject({ __name__: 'b' });
    const w = await BlockWriter.create(dir, ['__name__', 'a', 'b'], { minTime: 0, maxTime: 100_000 });
    await w.addSeries(b, [chunk(0, 3, 1)]);
    await expect(w.addSeries(a, [chunk(0, 3, 1)])).rejects.toThrow(/does not come after/);
    await expect(w.addSeries(b, [chunk(0, 3, 1)])).rejects.toThrow(/does not come after/);
    const w2 = await BlockWriter.create(dir, ['__name__', 'a', 'b'], { minTime: 0, maxTime: 100_000 });
    await expect(w2.addSeries(a, [chunk(5000, 3, 1), chunk(0, 3, 1)])).rejects.toThrow(/out of order/);
    await expect(w2.addSeries(b, [{ ...chunk(0, 3, 1), maxT: -1 }])).rejects.toThrow(/out of order/);
    await expect(w2.addSeries(Labels.fromObject({ __name__: 'c' }), [chunk(0, 1, 1)])).rejects.toThrow(/not in the symbol table/);
    await w.abort();
    await w2.abort();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('scanSeries with any window reads every entry as postings lookups do (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 5 }),
        async (values, windowBytes, chunksPer) => {
          const dir = tmp();
          const sets = values.map((v) => Labels.fromObject({ __name__: 'm', v }));
          sets.sort((x, y) => compareBytes(x.get('v'), y.get('v')));
          const symbols = [...new Set(['__name__', 'm', 'v', ...values])].sort(compareBytes);
          const w = await BlockWriter.create(dir, symbols, { minTime: 0, maxTime: 10_000_000 });
          for (const [i, l] of sets.entries()) {
            const cs: BlockChunk[] = [];
            for (let c = 0; c < chunksPer; c++) cs.push(chunk(c * 100_000, 1 + ((i + c) % 7), i));
            await w.addSeries(l, cs);
          }
          const meta = await w.finish();
          expect(meta.stats.numSeries).toBe(sets.length);
          const r = await BlockReader.openDir(path.join(dir, meta.ulid));
          const scanned = [];
          for await (const e of r.index.scanSeries(windowBytes)) scanned.push(e);
          const byPostings = await r.index.seriesMany(await r.index.postings('', ''));
          expect(scanned.map((e) => [e.labels.key(), e.chunks])).toEqual(byPostings.map((e) => [e.labels.key(), e.chunks]));
          expect(scanned.map((e) => e.labels.get('v'))).toEqual(sets.map((l) => l.get('v')));
          await r.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});
