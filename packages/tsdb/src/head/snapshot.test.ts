import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels, Matcher } from '@strata/model';
import { Head } from './head.js';
import { loadSnapshot, writeSnapshot } from './snapshot.js';

// Correctness, not speed: a 40k-series head and byte-by-byte reads take well over jest's default 30 s
// on a loaded 2-core machine.
jest.setTimeout(180_000);

const opts = { outOfOrderWindowMs: 30 * 60_000, samplesPerChunk: 120, maxSeries: 0 };

async function samplesOf(head: Head): Promise<Map<string, number[]>> {
  const got = await head.querier().select([new Matcher('=~', '__name__', '.+')], { start: -Infinity, end: Infinity });
  return new Map(got.map((s) => [s.labels.key(), Array.from(s.timestamps)]));
}

describe('head snapshot', () => {
  test('a head larger than one write piece, changing while it is streamed, loads back with everything it held at the start', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-snap-'));
    try {
      const head = new Head(opts);
      // ~40k series with a few samples and long labels: well over the 4 MiB streaming piece.
      for (let i = 0; i < 40_000; i++) {
        const s = head.getOrCreate(
          Labels.fromObject({ __name__: 'snap', instance: `host-${i}.example.internal:9100`, pod: `pod-${'x'.repeat(40)}-${i}` }),
        )!.series;
        for (let k = 0; k < 3; k++) head.apply(s, k * 15_000, 0, i + k);
        if (i % 1000 === 0) head.apply(s, 5_000, 0, 7); // out of order
      }
      const before = await samplesOf(head);
      const file = path.join(dir, 'snapshot');
      const writing = writeSnapshot(file, head, { segment: 3, offset: 99 });
      // Commits go on while the snapshot streams: new samples and a new series.
      for (let i = 0; i < 50; i++) head.apply(head.get(i + 1)!, 60_000, 0, 1);
      head.getOrCreate(Labels.fromObject({ __name__: 'snap_new' }));
      await writing;
      expect(fs.statSync(file).size).toBeGreaterThan(4 << 20);
      const loaded = new Head(opts);
      expect(await loadSnapshot(file, loaded)).toEqual({ segment: 3, offset: 99 });
      const after = await samplesOf(loaded);
      for (const [key, ts] of before) expect(after.get(key)?.slice(0, ts.length)).toEqual(ts);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('reading streams within bounded memory and refuses every damaged file', () => {
    let dir: string;
    let file: string;
    let want: Map<string, number[]>;
    let size: number;
    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-snap-'));
      file = path.join(dir, 'snapshot');
      const head = new Head(opts);
      for (let i = 0; i < 60; i++) {
        const s = head.getOrCreate(Labels.fromObject({ __name__: 'm', i: String(i), pad: 'p'.repeat(i) }))!.series;
        for (let k = 0; k < 3 + (i % 250); k++) head.apply(s, 60_000 + k * 1000, 0, k);
        if (i % 7 === 0) head.apply(s, 1_000 + i, 0, 9); // out of order
      }
      want = await samplesOf(head);
      await writeSnapshot(file, head, { segment: 5, offset: 1234 });
      size = fs.statSync(file).size;
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    const copy = (name: string, edit: (b: Buffer) => Buffer): string => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, edit(fs.readFileSync(file)));
      return f;
    };

    test('any read window, down to one byte, loads the same head', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 4096 }), async (window) => {
          const h = new Head(opts);
          expect(await loadSnapshot(file, h, window)).toEqual({ segment: 5, offset: 1234 });
          expect(await samplesOf(h)).toEqual(want);
        }),
        { numRuns: 40 },
      );
    });

    test('a file cut anywhere is refused, never thrown', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 1, max: 70_000 }), async (len, window) => {
          const f = copy('cut', (b) => b.subarray(0, len));
          const got = await loadSnapshot(f, new Head(opts), window);
          expect(got).toEqual({ error: expect.stringMatching(/truncated|too short|bad magic|runs past|after the last|checksum/) });
        }),
        { numRuns: 200 },
      );
    });

    test('one flipped byte anywhere is refused, never thrown', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
          const f = copy('flipped', (b) => {
            b[at] ^= xor;
            return b;
          });
          const got = await loadSnapshot(f, new Head(opts));
          expect(got).toEqual({ error: expect.any(String) });
        }),
        { numRuns: 300 },
      );
    });

    test.each([
      ['another format version', (b: Buffer) => Buffer.concat([Buffer.from('STRSNAP9'), b.subarray(8)]), /bad magic/],
      ['a series count beyond the file', (b: Buffer) => (b.writeUInt32LE(0xffffffff, 20), b), /truncated|runs past/],
      ['a label count beyond the file', (b: Buffer) => (b.writeUInt32LE(0x7fffffff, 28), b), /label count/],
      ['a label length beyond the file', (b: Buffer) => (b.writeUInt32LE(0xfffffff0, 32), b), /label string/],
      ['the checksum', (b: Buffer) => (b.writeUInt32LE((b.readUInt32LE(b.length - 4) ^ 1) >>> 0, b.length - 4), b), /checksum mismatch/],
      ['bytes appended', (b: Buffer) => Buffer.concat([b, Buffer.alloc(9)]), /after the last/],
      ['an empty file', () => Buffer.alloc(0), /too short/],
    ])('%s is refused with its reason', async (name, edit, reason) => {
      const got = await loadSnapshot(copy('edited', edit), new Head(opts));
      expect(got).toEqual({ error: expect.stringMatching(reason) });
    });

    test('a file over 2 GiB (sparse) is refused after reading only its series, in bounded memory', async () => {
      // Node's readFile refuses files over 2 GiB outright; the streaming reader reads the series and
      // finds the sparse tail that follows them. Sparse: costs no disk.
      const f = copy('huge', (b) => b);
      fs.truncateSync(f, 2 ** 31 + (5 << 20));
      const rssBefore = process.memoryUsage().rss;
      const t0 = Date.now();
      const got = await loadSnapshot(f, new Head(opts));
      expect(got).toEqual({ error: expect.stringMatching(/bytes after the last of 60 series/) });
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 << 20);
      // Nothing but zeros: refused at the magic.
      const zeros = path.join(dir, 'zeros');
      fs.writeFileSync(zeros, '');
      fs.truncateSync(zeros, 3 * 2 ** 30);
      expect(await loadSnapshot(zeros, new Head(opts))).toEqual({ error: expect.stringMatching(/bad magic/) });
      fs.rmSync(zeros);
      fs.rmSync(f);
    });

    test('a missing snapshot is not an error; an unreadable path is', async () => {
      expect(await loadSnapshot(path.join(dir, 'absent'), new Head(opts))).toBeUndefined();
      expect(await loadSnapshot(dir, new Head(opts))).toEqual({ error: expect.stringMatching(/EISDIR/) });
    });
  });
});
