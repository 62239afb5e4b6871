import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels, Matcher } from '@strata/model';
import { Head } from './head.js';
import { loadSnapshot, writeSnapshot } from './snapshot.js';

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
        const s = head.getOrCreate(Labels.fromObject({ __name__: 'snap', instance: `host-${i}.example.internal:9100`, pod: `pod-${'x'.repeat(40)}-${i}` }))!.series;
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
});
