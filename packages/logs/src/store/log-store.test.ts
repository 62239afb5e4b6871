import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels, Matcher } from '@strata/model';
import { LogStore } from './log-store.js';
import { decodePushRecord, encodePushRecord, PUSH_RECORD_PAYLOAD, walkPushRecord, WalRecordError } from './wal-record.js';
import { LogHead } from '../head/log-head.js';
import type { PushStream } from '../push/push-stream.js';

const ALL = { startNs: -(2n ** 63n), endNs: 2n ** 63n - 1n };

function stream(labels: Record<string, string>, rows: [bigint, string][], meta?: (Labels | undefined)[]): PushStream {
  const l = Labels.fromObject(labels);
  return {
    labels: l,
    labelsText: l.toString(),
    timestampsNs: BigInt64Array.from(rows.map((r) => r[0])),
    lines: rows.map((r) => r[1]),
    metadata: meta,
  };
}

const recordStreams = fc
  .array(
    fc.record({
      app: fc.string({ minLength: 1, maxLength: 8 }),
      rows: fc.array(fc.tuple(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.string({ unit: 'grapheme', maxLength: 20 })), {
        maxLength: 5,
      }),
      trace: fc.option(fc.string({ minLength: 1, maxLength: 6 }), { nil: undefined }),
    }),
    { maxLength: 4 },
  )
  .map((raw) =>
    raw.map((r) =>
      stream({ app: r.app }, r.rows, r.trace && r.rows.length > 0 ? r.rows.map(() => Labels.fromObject({ trace: r.trace! })) : undefined),
    ),
  );

const contents = async (head: LogHead) =>
  (await head.selectLogs([], ALL)).map((s) => [s.labels.key(), [...s.timestampsNs], s.lines, s.metadata?.map((m) => m?.key())]);

describe('log WAL record', () => {
  test('round-trips any streams', () => {
    fc.assert(
      fc.property(recordStreams, (streams) => {
        const rec = encodePushRecord(streams);
        const back = decodePushRecord(rec.subarray(PUSH_RECORD_PAYLOAD));
        expect(back.map((s) => [s.labels.key(), [...s.timestampsNs], s.lines, s.metadata?.map((m) => m?.key())])).toEqual(
          streams.map((s) => [s.labels.key(), [...s.timestampsNs], s.lines, s.metadata?.map((m) => m?.key())]),
        );
      }),
    );
  });

  test('a head appending a record from its bytes, with the labels given or decoded, holds what appending its streams gives', async () => {
    await fc.assert(
      fc.asyncProperty(recordStreams, async (streams) => {
        const payload = encodePushRecord(streams).subarray(PUSH_RECORD_PAYLOAD);
        const want = new LogHead();
        for (const s of streams) want.append(s.labels, s.timestampsNs, s.lines, s.metadata);
        const given = new LogHead();
        given.appendRecord(
          payload,
          streams.map((s) => s.labels),
        );
        const decoded = new LogHead();
        decoded.appendRecord(payload, undefined);
        for (const h of [given, decoded]) {
          expect(h.entries).toBe(want.entries);
          expect(await contents(h)).toEqual(await contents(want));
        }
      }),
    );
  });

  test('a record cut short or with bytes after its streams is a WalRecordError', () => {
    const payload = encodePushRecord([stream({ app: 'a' }, [[1n, 'hello']])]).subarray(PUSH_RECORD_PAYLOAD);
    const walk = (p: Buffer) => () => walkPushRecord(p, true, { stream: () => undefined, entry: () => undefined });
    expect(walk(payload)).not.toThrow();
    for (let n = 0; n < payload.length; n++) expect(walk(payload.subarray(0, n))).toThrow(WalRecordError);
    expect(walk(Buffer.concat([payload, Buffer.of(0)]))).toThrow(WalRecordError);
  });
});

describe('LogStore', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('what was pushed is read back after a reopen, per tenant, sealed or not', async () => {
    const a = await LogStore.open({ dir, fsync: 'batch', cutIntervalMs: 0 });
    await a.push('t1', [
      stream(
        { app: 'x' },
        [
          [5n, 'five'],
          [3n, 'three'],
        ],
        [Labels.fromObject({ trace: 'abc' }), undefined],
      ),
    ]);
    await a.push('t2', [stream({ app: 'y' }, [[1n, 'other tenant']])]);
    await a.head('t1')!.sealAll();
    await a.push('t1', [stream({ app: 'x' }, [[4n, 'four']])]);
    const before = await a.logQuerier('t1').selectLogs([new Matcher('=', 'app', 'x')], ALL);
    await a.close();
    const b = await LogStore.open({ dir, fsync: 'batch', cutIntervalMs: 0 });
    const after = await b.logQuerier('t1').selectLogs([new Matcher('=', 'app', 'x')], ALL);
    expect(after).toEqual(before);
    expect(after[0].lines).toEqual(['three', 'four', 'five']);
    expect(after[0].metadata?.map((m) => m?.get('trace'))).toEqual([undefined, undefined, 'abc']);
    expect((await b.logQuerier('t2').selectLogs([new Matcher('=', 'app', 'y')], ALL))[0].lines).toEqual(['other tenant']);
    expect(await b.logQuerier('nobody').selectLogs([new Matcher('=', 'app', 'x')], ALL)).toEqual([]);
    await b.close();
  });

  test('a torn WAL tail is cut off and everything before it is kept', async () => {
    const a = await LogStore.open({ dir, fsync: 'batch', cutIntervalMs: 0 });
    await a.push('t', [stream({ app: 'x' }, [[1n, 'kept']])]);
    await a.close();
    const walDir = path.join(dir, 't', 'wal');
    const seg = fs.readdirSync(walDir).sort()[0];
    fs.appendFileSync(path.join(walDir, seg), Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 1, 9]));
    const b = await LogStore.open({ dir, fsync: 'batch', cutIntervalMs: 0 });
    expect((await b.logQuerier('t').selectLogs([new Matcher('=', 'app', 'x')], ALL))[0].lines).toEqual(['kept']);
    await b.close();
  });
});
