import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WAL, type WalPosition } from './wal.js';
import { frame } from './records.js';

function record(i: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(i, 0);
  return frame(2, b);
}

describe('WAL', () => {
  test.each([
    ['large segments', undefined],
    ['segments that fill up every few batches', 512],
  ])(
    'rotations while writes flow never fail a write, and every record replays once, with %s (regression: a write raced the closing segment)',
    async (_name, segmentBytes) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-wal-'));
      try {
        const { wal } = await WAL.open(dir, { fsync: 'batch', segmentBytes }, () => undefined);
        let next = 0;
        const failures: string[] = [];
        let writing = true;
        const writers = Array.from({ length: 8 }, async () => {
          while (writing) {
            try {
              await wal.log(record(next++));
            } catch (e) {
              failures.push((e as Error).message);
              return;
            }
          }
        });
        const positions: WalPosition[] = [];
        for (let k = 0; k < 25 && failures.length === 0; k++)
          positions.push(await wal.rotate().catch((e: Error) => (failures.push(`rotate: ${e.message}`), { segment: -1, offset: 0 })));
        writing = false;
        await Promise.all(writers);
        await wal.close();
        expect(failures).toEqual([]);
        // Each rotation starts a new, empty segment after the previous one.
        positions.forEach((p, k) => k > 0 && expect(p.segment).toBeGreaterThan(positions[k - 1].segment));
        expect(positions.every((p) => p.offset === 0)).toBe(true);
        const seen: number[] = [];
        await WAL.open(dir, { fsync: 'batch' }, (_type, payload) => seen.push(payload.readDoubleLE(0)));
        expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: next }, (_, i) => i));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test('a closed WAL refuses writes with a clear error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-wal-'));
    try {
      const { wal } = await WAL.open(dir, { fsync: 'batch' }, () => undefined);
      await wal.log(record(1));
      await wal.close();
      await expect(wal.log(record(2))).rejects.toThrow('WAL is closed');
      await expect(wal.rotate()).rejects.toThrow('WAL is closed');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
