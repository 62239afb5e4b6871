import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Labels, Matcher } from '@strata/model';
import { TSDB } from './db.js';

// A snapshot that cannot be read must never keep a tenant from opening: the head is rebuilt from the
// WAL, which still holds every acknowledged sample after a clean close.

const HEAD = { outOfOrderWindowMs: 30 * 60_000, samplesPerChunk: 120, maxSeries: 0 };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

async function everything(db: TSDB): Promise<Map<string, number[]>> {
  const got = await (await db.tenant('t')).querier().select([new Matcher('=~', '__name__', '.+')], { start: -Infinity, end: Infinity });
  return new Map(got.map((s) => [s.labels.toString(), [...Array.from(s.timestamps), ...Array.from(s.values)]]));
}

describe.each([
  ['truncated', (f: string) => fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2)), /truncated/],
  [
    'corrupt',
    (f: string) => {
      const b = fs.readFileSync(f);
      b[b.length >> 1] ^= 0x5a;
      fs.writeFileSync(f, b);
    },
    /checksum|runs past|truncated|after the last/,
  ],
  // Sparse: past Node's 2 GiB readFile limit at no disk cost.
  ['oversized (sparse, over 2 GiB)', (f: string) => fs.truncateSync(f, 2 ** 31 + 4096), /after the last/],
  [
    'of another version',
    (f: string) => {
      const b = fs.readFileSync(f);
      b.write('STRSNAP0', 0);
      fs.writeFileSync(f, b);
    },
    /bad magic/,
  ],
])('snapshot %s', (_name, damage, reason) => {
  test('falls back to a full WAL replay with a warning, losing nothing acknowledged', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-snapfb-'));
    dirs.push(dir);
    let db = await TSDB.open({ dir, fsync: 'batch', head: HEAD });
    const app = (await db.tenant('t')).appender();
    for (let i = 0; i < 200; i++) {
      const ref = app.ref(Labels.fromObject({ __name__: 'fb', series: String(i), pad: 'x'.repeat(i % 50) }));
      for (let k = 0; k < 130; k++) app.append(ref, 1_000_000 + k * 15_000, i * 1000 + k);
    }
    await app.commit();
    const want = await everything(db);
    await db.close();
    const snapshot = path.join(dir, 'tenants', 't', 'snapshot');
    damage(snapshot);

    const { logger, lines } = capturingLogger();
    db = await TSDB.open({ dir, fsync: 'batch', head: HEAD, logger });
    const t = await db.tenant('t');
    expect(t.replay.fromSnapshot).toBe(false);
    expect(t.replay.snapshotError).toMatch(reason);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        tenant: 't',
        msg: 'head snapshot unusable; replaying the whole WAL',
        error: expect.stringMatching(reason),
      }),
    );
    expect(await everything(db)).toEqual(want);
    // The next clean close writes a good snapshot over the bad one.
    await db.close();
    expect(fs.statSync(snapshot).size).toBeLessThan(2 ** 31);
    db = await TSDB.open({ dir, fsync: 'batch', head: HEAD });
    expect((await db.tenant('t')).replay.fromSnapshot).toBe(true);
    expect(await everything(db)).toEqual(want);
    await db.close();
  });
});

// Found by fuzzing (npm run fuzz -- wal): a record whose checksum holds but whose content does not
// decode threw out of the replay, so TSDB.open failed at every start.
test('a WAL record that passes its checksum but does not decode is skipped; everything around it replays', async () => {
  const { frame, encodeSeries, encodeSamples, RECORD_SERIES, RECORD_SAMPLES } = await import('./wal/records.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-walrec-'));
  dirs.push(dir);
  const walDir = path.join(dir, 'tenants', 't', 'wal');
  fs.mkdirSync(walDir, { recursive: true });
  const sample = (ref: number, t: number) => encodeSamples(Uint32Array.of(ref), Float64Array.of(t), Uint32Array.of(0, 0x3ff00000), 1);
  fs.writeFileSync(
    path.join(walDir, '00000000'),
    Buffer.concat([
      encodeSeries(1, Labels.fromObject({ __name__: 'before' })),
      sample(1, 1000),
      frame(RECORD_SERIES, Buffer.from([2, 0, 0, 0, 0x7f, 0x05])), // claims 127 strings in 2 bytes
      frame(RECORD_SAMPLES, Buffer.from([9, 0, 0, 0])), // claims 9 samples, holds none
      frame(RECORD_SERIES, Buffer.from([1])), // shorter than a ref
      encodeSeries(3, Labels.fromObject({ __name__: 'after' })),
      sample(3, 2000),
    ]),
  );
  const { logger, lines } = capturingLogger();
  const db = await TSDB.open({ dir, fsync: 'none', head: HEAD, logger });
  const got = await everything(db);
  expect([...got.keys()].sort()).toEqual(['after', 'before']);
  expect(lines).toContainEqual(
    expect.objectContaining({ level: 50, tenant: 't', records: 3, msg: 'WAL records with a valid checksum did not decode; skipped them' }),
  );
  await db.close();
});

// Checkpoints delete WAL segments. They delete only those before the checkpoint preceding the newest, so a
// newest snapshot found damaged at start is replaced by the one before it plus the WAL after that, and every
// acknowledged sample not yet in a block is still there.
describe('a damaged newest snapshot after checkpoints removed WAL segments', () => {
  const HOUR = 3_600_000;
  async function fill(db: TSDB, fromHour: number, toHour: number): Promise<void> {
    const app = (await db.tenant('t')).appender();
    for (let i = 0; i < 20; i++) {
      const ref = app.ref(Labels.fromObject({ __name__: 'gen', series: String(i) }));
      for (let t = fromHour * HOUR; t < toHour * HOUR; t += 60_000) app.append(ref, t, i + t / 1000);
    }
    await app.commit();
  }
  const open = (dir: string, logger?: pino.Logger) =>
    TSDB.open({ dir, fsync: 'batch', head: HEAD, blockDurationMs: 2 * HOUR, walSegmentBytes: 16 * 1024, logger });

  test.each([
    ['only the newest damaged: loads the checkpoint before it and loses nothing', ['snapshot']],
    ['both generations lost: replays what remains and says so at error level', ['snapshot', 'snapshot.prev']],
  ])('%s', async (_name, damaged) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-snapgen-'));
    dirs.push(dir);
    let db = await open(dir);
    await fill(db, 0, 4);
    expect((await (await db.tenant('t')).compact()).length).toBeGreaterThan(0);
    await fill(db, 4, 7);
    expect((await (await db.tenant('t')).compact()).length).toBeGreaterThan(0);
    await fill(db, 7, 8);
    const want = await everything(db);
    await db.close();
    const tenantDir = path.join(dir, 'tenants', 't');
    const oldest = fs.readdirSync(path.join(tenantDir, 'wal')).sort()[0];
    expect(Number(oldest)).toBeGreaterThan(0); // checkpoints did remove segments
    for (const f of damaged) {
      const file = path.join(tenantDir, f);
      if (f === 'snapshot') fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
      else fs.rmSync(file);
    }

    const { logger, lines } = capturingLogger();
    db = await open(dir, logger);
    const t = await db.tenant('t');
    if (damaged.length === 1) {
      expect(t.replay.fromSnapshot).toBe(true);
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 40,
          msg: 'head snapshot unusable; loaded the checkpoint before it and replaying the WAL after that',
        }),
      );
      expect(await everything(db)).toEqual(want);
      expect(fs.existsSync(path.join(tenantDir, 'snapshot.damaged'))).toBe(true);
    } else {
      // Both generations gone: said loudly (the one case that can lose unblocked samples).
      expect(lines).toContainEqual(expect.objectContaining({ level: 50, tenant: 't' }));
    }
    await db.close();
    db = await open(dir);
    if (damaged.length === 1) expect(await everything(db)).toEqual(want);
    await db.close();
  });
});
