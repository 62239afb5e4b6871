/**
 * Blocks against the real peer: promtool (Debian's Prometheus 2.42) reads Strata's blocks and
 * dumps exactly the ingested samples; a block written by Prometheus' own tooling is read by
 * Strata's reader with identical series and samples.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels, Matcher } from '@strata/model';
import { BlockReader, STALE_NAN, TSDB, writeBlock, XOREncoder, type BlockSeries } from '@strata/tsdb';

const PROMTOOL = '/usr/bin/promtool';
const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-block-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 7_200_000);
const all = [new Matcher('=~', '__name__', '.+')];

/** promtool prints values with Go's %g-like formatting; we only use values that print plainly. */
function dumpLine(labels: Labels, v: number, t: number): string {
  const parts: string[] = [];
  labels.forEach((n, val) => parts.push(`${n}=${JSON.stringify(val)}`));
  return `{${parts.join(', ')}} ${Number.isNaN(v) ? 'NaN' : v} ${t}`;
}

describe('Strata blocks read by promtool', () => {
  test('analyze succeeds and dump prints exactly the ingested samples', async () => {
    // Ingest through the real head (WAL included), then write its chunks as a block.
    const dbDir = tmp();
    const db = await TSDB.open({ dir: dbDir, fsync: 'none', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
    const t = await db.tenant('t');
    const app = t.appender();
    const series = [
      Labels.fromObject({ __name__: 'http_requests_total', job: 'api', code: '200' }),
      Labels.fromObject({ __name__: 'http_requests_total', job: 'api', code: '500' }),
      Labels.fromObject({ __name__: 'temperature', city: 'Zürich', unit: '°C' }),
    ];
    const v = new Float64Array(1);
    const expected: string[] = [];
    series.forEach((l, si) => {
      const ref = app.ref(l);
      for (let i = 0; i < 300; i++) {
        const ts = T0 + i * 15_000;
        v[0] = si === 2 && i === 100 ? NaN : si === 2 && i === 200 ? STALE_NAN : i * (si + 1) + 0.5;
        app.append(ref, ts, v[0]);
        expected.push(dumpLine(l, v[0], ts));
      }
    });
    await app.commit();
    const blocksDir = tmp();
    const input: BlockSeries[] = [...t.head.allSeries()].map((s) => ({ labels: s.labels, chunks: s.chunksIn(T0, T0 + 7_200_000 - 1) }));
    expect(input.every((s) => s.chunks.length >= 3)).toBe(true); // several chunks per series
    const meta = await writeBlock(blocksDir, input, {
      minTime: T0,
      maxTime: T0 + 7_200_000,
      externalLabels: { tenant: 't', receive_replica: 'r0' },
    });
    expect(meta.stats).toEqual({ numSamples: 900, numSeries: 3, numChunks: input.reduce((n, s) => n + s.chunks.length, 0) });
    fs.mkdirSync(path.join(blocksDir, 'wal')); // promtool opens the directory as a TSDB
    const analyze = execFileSync(PROMTOOL, ['tsdb', 'analyze', blocksDir, meta.ulid], { encoding: 'utf8' });
    expect(analyze).toContain(`Block ID: ${meta.ulid}`);
    expect(analyze).toContain('Series: 3');
    const dump = execFileSync(PROMTOOL, ['tsdb', 'dump', blocksDir], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const got = dump.trim().split('\n').sort();
    expect(got).toEqual(expected.sort());
    await db.close();
  });
});

describe('Prometheus-written blocks read by Strata', () => {
  test('promtool create-blocks-from openmetrics -> identical series and samples', async () => {
    const dir = tmp();
    const om = path.join(dir, 'data.om');
    const lines: string[] = ['# TYPE requests counter', '# TYPE load gauge'];
    const want = new Map<string, [number, number][]>();
    for (let i = 0; i < 240; i++) {
      const ts = T0 / 1000 + i * 30;
      for (const [labels, value] of [
        ['requests_total{path="/a",code="200"}', i * 3],
        ['requests_total{path="/b",code="500"}', i],
        ['load{host="h-1"}', (i % 17) / 4],
      ] as [string, number][]) {
        lines.push(`${labels} ${value} ${ts}`);
        const k = labels;
        if (!want.has(k)) want.set(k, []);
        want.get(k)!.push([ts * 1000, value]);
      }
    }
    lines.push('# EOF');
    fs.writeFileSync(om, lines.join('\n') + '\n');
    const out = path.join(dir, 'blocks');
    execFileSync(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', om, out], { encoding: 'utf8' });
    const blockDirs = fs.readdirSync(out).filter((d) => fs.existsSync(path.join(out, d, 'meta.json')));
    expect(blockDirs.length).toBeGreaterThan(0);
    const got = new Map<string, [number, number][]>();
    for (const b of blockDirs) {
      const r = await BlockReader.openDir(path.join(out, b));
      for (const s of await r.select(all, { start: -Infinity, end: Infinity })) {
        const name = s.labels.get('__name__');
        const rest = s.labels.without('__name__');
        const parts: string[] = [];
        rest.forEach((n, v) => parts.push(`${n}="${v}"`));
        // promtool sorts labels; rebuild the key in the input's label order for comparison
        const key =
          name === 'requests_total' ? `requests_total{path="${rest.get('path')}",code="${rest.get('code')}"}` : `load{${parts.join(',')}}`;
        if (!got.has(key)) got.set(key, []);
        for (let i = 0; i < s.timestamps.length; i++) got.get(key)!.push([s.timestamps[i], s.values[i]]);
      }
      expect(await r.labelNames([], { start: -Infinity, end: Infinity })).toEqual(expect.arrayContaining(['__name__']));
      await r.close();
    }
    for (const v of got.values()) v.sort((a, b) => a[0] - b[0]);
    expect(got).toEqual(want);
  });
});

describe('block writer and reader', () => {
  test('round trip of random series (property)', async () => {
    const name = fc.constantFrom('a', 'b', 'job', 'le', 'ü');
    const value = fc.string({ minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.dictionary(name, value, { minKeys: 1 }), {
          minLength: 1,
          maxLength: 20,
          selector: (d) => JSON.stringify(Object.entries(d).sort()),
        }),
        async (sets) => {
          const dir = tmp();
          const input: BlockSeries[] = sets.map((o, i) => {
            const enc = new XOREncoder();
            for (let k = 0; k <= i; k++) enc.append(T0 + k * 1000, k * i);
            return {
              labels: Labels.fromObject({ __name__: 'm', ...o }),
              chunks: [{ minT: T0, maxT: T0 + i * 1000, data: enc.bytes().slice() }],
            };
          });
          const meta = await writeBlock(dir, input, { minTime: T0, maxTime: T0 + 7_200_000 });
          const r = await BlockReader.openDir(path.join(dir, meta.ulid));
          const got = await r.select(all, { start: -Infinity, end: Infinity });
          expect(got.map((s) => s.labels.key()).sort()).toEqual(input.map((s) => s.labels.key()).sort());
          for (const s of got) {
            const i = input.findIndex((x) => x.labels.equals(s.labels));
            expect(Array.from(s.values)).toEqual(Array.from({ length: i + 1 }, (_, k) => k * i));
          }
          // matchers go through postings, including the empty-value semantics
          const withA = await r.series([new Matcher('!=', 'a', '')], { start: -Infinity, end: Infinity });
          expect(withA.length).toBe(input.filter((s) => s.labels.has('a')).length);
          await r.close();
        },
      ),
      { numRuns: 25 },
    );
  });

  test('a corrupted block gives an error naming it, and does not crash the reader', async () => {
    const dir = tmp();
    const enc = new XOREncoder();
    enc.append(T0, 1);
    const meta = await writeBlock(
      dir,
      [{ labels: Labels.fromObject({ __name__: 'x' }), chunks: [{ minT: T0, maxT: T0, data: enc.bytes().slice() }] }],
      { minTime: T0, maxTime: T0 + 1000 },
    );
    const index = path.join(dir, meta.ulid, 'index');
    const b = fs.readFileSync(index);
    b[b.length - 10] ^= 0xff; // inside the TOC
    fs.writeFileSync(index, b);
    await expect(BlockReader.openDir(path.join(dir, meta.ulid))).rejects.toThrow(
      new RegExp(`block ${meta.ulid} index: corrupt index: TOC checksum mismatch`),
    );
    fs.writeFileSync(path.join(dir, meta.ulid, 'meta.json'), '{not json');
    await expect(BlockReader.openDir(path.join(dir, meta.ulid))).rejects.toThrow(new RegExp(`block ${meta.ulid}: cannot read meta.json`));
  });
});
