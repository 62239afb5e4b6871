/** The receiver's late-data log: cursors, trimming, epochs, bounded answers, and the HTTP route. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeLateDataAnswer, LATE_DATA_PATH, LateDataLog, lateDataPath, mountLateDataApi } from './late-data.js';
import { Router } from './router.js';

test('a reader without a cursor is told to reset, then gets every notice after the cursor it was given', () => {
  const log = new LateDataLog(8, 'e1');
  log.add('a', 1, 2);
  const first = log.read(undefined);
  expect(first).toEqual({ cursor: 'e1.1', reset: true, more: false, bumps: [] });
  expect(log.read(first.cursor)).toEqual({ cursor: 'e1.1', reset: false, more: false, bumps: [] });
  log.add('b', 10, 20);
  log.add('a', 5, 5);
  const second = log.read(first.cursor);
  expect(second).toEqual({
    cursor: 'e1.3',
    reset: false,
    more: false,
    bumps: [
      ['b', 10, 20],
      ['a', 5, 5],
    ],
  });
  // The same cursor again reads the same notices: a lost answer is read again.
  expect(log.read(first.cursor)).toEqual(second);
});

test('a cursor of another epoch (a restarted receiver), malformed or from the future resets', () => {
  const log = new LateDataLog(8, 'e2');
  log.add('a', 1, 2);
  for (const c of ['e1.0', 'e1.1', 'e2', 'e2.x', 'e2.1.5', 'e2.2', 'e2.-1', '.1', ''])
    expect(log.read(c)).toEqual({ cursor: 'e2.1', reset: true, more: false, bumps: [] });
  expect(log.read('e2.0').bumps).toEqual([['a', 1, 2]]);
});

test('notices trimmed from the bounded log reset the reader that missed them, not one that had read them', () => {
  const log = new LateDataLog(4, 'e');
  for (let i = 1; i <= 6; i++) log.add('t', i, i);
  // Held: 3..6. A reader at 2 has every notice it lacks; one at 1 lost notice 2.
  expect(log.read('e.2')).toEqual({
    cursor: 'e.6',
    reset: false,
    more: false,
    bumps: [
      ['t', 3, 3],
      ['t', 4, 4],
      ['t', 5, 5],
      ['t', 6, 6],
    ],
  });
  expect(log.read('e.1')).toEqual({ cursor: 'e.6', reset: true, more: false, bumps: [] });
  expect(log.read('e.0').reset).toBe(true);
  expect(log.read('e.6')).toEqual({ cursor: 'e.6', reset: false, more: false, bumps: [] });
});

test('an answer holds at most the limit; `more` until the reader has caught up', () => {
  const log = new LateDataLog(100, 'e');
  for (let i = 1; i <= 5; i++) log.add('t', i, i);
  const a = log.read('e.0', 2);
  expect(a).toEqual({
    cursor: 'e.2',
    reset: false,
    more: true,
    bumps: [
      ['t', 1, 1],
      ['t', 2, 2],
    ],
  });
  const b = log.read(a.cursor, 2);
  expect([b.cursor, b.more]).toEqual(['e.4', true]);
  const c = log.read(b.cursor, 2);
  expect(c).toEqual({ cursor: 'e.5', reset: false, more: false, bumps: [['t', 5, 5]] });
});

test('two logs have different epochs', () => {
  expect(new LateDataLog().epoch).not.toEqual(new LateDataLog().epoch);
});

test('GET /internal/late-data serves the log; the answer decodes', async () => {
  const log = new LateDataLog(16, 'ep');
  const router = new Router(['']);
  mountLateDataApi(router, log);
  const server = http.createServer((req, res) => {
    const m = router.match(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname);
    if (m === undefined || m === 'method-not-allowed') return res.writeHead(m ? 405 : 404).end();
    void m.handler(req, res, m.params);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${LATE_DATA_PATH}`;
  try {
    const first = decodeLateDataAnswer(await (await fetch(url)).json());
    expect(first).toEqual({ cursor: 'ep.0', reset: true, more: false, bumps: [] });
    log.add('team-a', 1_700_000_000_000, 1_700_000_060_000);
    const next = decodeLateDataAnswer(await (await fetch(`${url}?cursor=${encodeURIComponent(first!.cursor)}`)).json());
    expect(next).toEqual({ cursor: 'ep.1', reset: false, more: false, bumps: [['team-a', 1_700_000_000_000, 1_700_000_060_000]] });
    // A reader's window, named on its poll, lowers the log's threshold.
    expect(log.lateAfterMs(60_000)).toBe(60_000);
    await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${lateDataPath(next!.cursor, 5_000)}`)).json();
    expect(log.lateAfterMs(60_000)).toBe(5_000);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

describe('readers name their freshness window: samples older than the shortest one are late', () => {
  const MIN = 60_000;
  test.each<[string, [ms: number, at: number][], number, number]>([
    ['no reader: the own window', [], 0, MIN],
    ['a reader with a shorter window lowers it', [[10_000, 0]], 0, 10_000],
    ['a reader with a longer window does not raise it', [[5 * MIN, 0]], 0, MIN],
    [
      'several readers: the shortest',
      [
        [30_000, 0],
        [10_000, 0],
        [20_000, 0],
      ],
      0,
      10_000,
    ],
    ['a reader that has not polled for ten minutes no longer counts', [[10_000, 0]], 10 * MIN + 1, MIN],
    [
      'a reader polling again keeps counting',
      [
        [10_000, 0],
        [10_000, 9 * MIN],
      ],
      10 * MIN + 1,
      10_000,
    ],
    ['a window of 0 (every step cached): every sample is late', [[0, 0]], 0, 0],
    [
      'not a number: ignored',
      [
        [NaN, 0],
        [-1, 0],
        [Infinity, 0],
      ],
      0,
      MIN,
    ],
  ])('%s', (_, polls, now, want) => {
    const log = new LateDataLog(8, 'e');
    for (const [ms, at] of polls) log.noteReaderFreshness(ms, at);
    expect(log.lateAfterMs(MIN, now)).toBe(want);
  });

  test('a caller naming many windows cannot grow the set past its bound, and the shortest stays', () => {
    const log = new LateDataLog(8, 'e');
    log.noteReaderFreshness(1_000, 0);
    for (let i = 0; i < 1000; i++) log.noteReaderFreshness(2_000 + i, 0);
    expect(log.lateAfterMs(MIN, 0)).toBe(1_000);
    expect((log as unknown as { readerWindows: Map<number, number> }).readerWindows.size).toBeLessThanOrEqual(16);
  });
});

test('lateDataPath names the cursor and the freshness window', () => {
  expect(lateDataPath(undefined, undefined)).toBe(LATE_DATA_PATH);
  expect(lateDataPath('e.1', undefined)).toBe(`${LATE_DATA_PATH}?cursor=e.1`);
  expect(lateDataPath(undefined, 10_000)).toBe(`${LATE_DATA_PATH}?freshness_ms=10000`);
  expect(lateDataPath('a b', 0)).toBe(`${LATE_DATA_PATH}?cursor=a+b&freshness_ms=0`);
});

test('decodeLateDataAnswer refuses what is not an answer', () => {
  for (const body of [
    null,
    {},
    { status: 'error', data: { cursor: 'x', reset: false, more: false, bumps: [] } },
    { status: 'success', data: { cursor: 1, reset: false, more: false, bumps: [] } },
    { status: 'success', data: { cursor: 'x', reset: false, more: false, bumps: [['t', null, 1]] } },
    { status: 'success', data: { cursor: 'x', reset: 'no', more: false, bumps: [] } },
  ])
    expect(decodeLateDataAnswer(body)).toBeUndefined();
});
