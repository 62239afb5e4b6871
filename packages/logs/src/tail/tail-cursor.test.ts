import { Labels } from '@strata/model';
import { LogHead } from '../head/log-head.js';
import { parseLogql } from '../logql/parser.js';
import type { LogExpr } from '../logql/ast.js';
import type { LogQuerier } from '../types.js';
import { pollTail, TailCursor, tailMessage, type TailEntry } from './tail-cursor.js';

const A = Labels.fromObject({ app: 'a' });
const B = Labels.fromObject({ app: 'b' });

function push(head: LogHead, labels: Labels, entries: [number, string][]): void {
  head.append(
    labels,
    BigInt64Array.from(entries.map(([t]) => BigInt(t))),
    entries.map(([, l]) => l),
    undefined,
  );
}

const expr = (q: string) => parseLogql(q) as LogExpr;
const seen = (es: readonly TailEntry[]) => es.map((e) => `${e.labels.get('app')}@${e.timestampNs}:${e.line}`);

describe('TailCursor over a real head', () => {
  test('sends every entry once, in timestamp order across streams, as entries arrive', async () => {
    const head = new LogHead();
    const cursor = new TailCursor({ startNs: 0n, batch: 100, overlapNs: 10n });
    const q = expr('{app=~"a|b"}');
    push(head, A, [
      [1, 'a1'],
      [5, 'a5'],
    ]);
    push(head, B, [
      [3, 'b3'],
      [5, 'b5'],
    ]);
    const p1 = await pollTail(q, head, cursor, 100n);
    expect(seen(p1.entries)).toEqual(['a@1:a1', 'b@3:b3', 'a@5:a5', 'b@5:b5']);
    expect(p1.more).toBe(false);
    // Nothing new: nothing sent again, though the window overlaps.
    push(head, A, [[120, 'a120']]);
    expect(seen((await pollTail(q, head, cursor, 110n)).entries)).toEqual([]);
    const p3 = await pollTail(q, head, cursor, 130n);
    expect(seen(p3.entries)).toEqual(['a@120:a120']);
  });

  test('an entry arriving late inside the overlap is sent once; one older than the overlap is not', async () => {
    const head = new LogHead();
    const cursor = new TailCursor({ startNs: 0n, batch: 100, overlapNs: 10n });
    const q = expr('{app="a"}');
    push(head, A, [[50, 'x']]);
    expect(seen((await pollTail(q, head, cursor, 100n)).entries)).toEqual(['a@50:x']);
    // Arrives after the poll that covered its timestamp, within the overlap (90..100).
    push(head, A, [
      [95, 'late'],
      [80, 'too late'],
    ]);
    expect(seen((await pollTail(q, head, cursor, 101n)).entries)).toEqual(['a@95:late']);
    expect(seen((await pollTail(q, head, cursor, 102n)).entries)).toEqual([]);
  });

  test('after a cut poll, an entry arriving late inside the overlap behind where it stopped is still sent', async () => {
    const head = new LogHead();
    const cursor = new TailCursor({ startNs: 0n, batch: 2, overlapNs: 10n });
    const q = expr('{app="a"}');
    push(head, A, [
      [95, 'a95'],
      [96, 'a96'],
      [97, 'a97'],
    ]);
    const p1 = await pollTail(q, head, cursor, 100n);
    expect([seen(p1.entries), p1.more]).toEqual([['a@95:a95', 'a@96:a96'], true]);
    push(head, A, [[93, 'late']]);
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push(...seen((await pollTail(q, head, cursor, 100n)).entries));
    expect(got).toEqual(['a@93:late', 'a@97:a97']);
  });

  test('the same timestamp and line twice in one stream (a retried push) is one entry; in two streams, two', async () => {
    const head = new LogHead();
    const cursor = new TailCursor({ startNs: 0n, batch: 100, overlapNs: 10n });
    const q = expr('{app=~"a|b"}');
    push(head, A, [[7, 'same']]);
    push(head, A, [[7, 'same']]);
    push(head, B, [[7, 'same']]);
    expect(seen((await pollTail(q, head, cursor, 10n)).entries)).toEqual(['a@7:same', 'b@7:same']);
  });

  test('a poll is bounded by the batch; the rest follows, entries at the boundary timestamp not repeated', async () => {
    const head = new LogHead();
    const cursor = new TailCursor({ startNs: 0n, batch: 3, overlapNs: 0n });
    const q = expr('{app=~"a|b"}');
    // Five entries at timestamp 4 across two streams: the cut falls among them.
    push(head, A, [
      [1, 'a1'],
      [4, 'a4-1'],
      [4, 'a4-2'],
      [4, 'a4-3'],
      [9, 'a9'],
    ]);
    push(head, B, [
      [4, 'b4-1'],
      [4, 'b4-2'],
    ]);
    const got: string[] = [];
    let polls = 0;
    for (;;) {
      const p = await pollTail(q, head, cursor, 20n);
      got.push(...seen(p.entries));
      polls++;
      expect(p.entries.length).toBeLessThanOrEqual(3);
      if (!p.more) break;
      expect(polls).toBeLessThan(10);
    }
    expect([...got].sort()).toEqual(['a@1:a1', 'a@4:a4-1', 'a@4:a4-2', 'a@4:a4-3', 'a@9:a9', 'b@4:b4-1', 'b@4:b4-2'].sort());
    expect(new Set(got).size).toBe(got.length);
    // Timestamp order over the polls.
    const ts = got.map((g) => Number(/@(\d+)/.exec(g)![1]));
    expect(ts).toEqual([...ts].sort((x, y) => x - y));
    expect(polls).toBeGreaterThan(2);
  });

  test('catching up on a backlog reads a bounded number of entries per poll, even with a parser', async () => {
    const head = new LogHead();
    const n = 20_000;
    push(
      head,
      A,
      Array.from({ length: n }, (_, i): [number, string] => [1000 * i, `i=${i}`]),
    );
    const reads: number[] = [];
    const counting: LogQuerier = {
      series: (m, h) => head.series(m, h),
      labelNames: (m, h) => head.labelNames(m, h),
      labelValues: (name, m, h) => head.labelValues(name, m, h),
      selectLogs: async (m, h) => {
        const got = await head.selectLogs(m, h);
        reads.push(got.reduce((k, s) => k + s.lines.length, 0));
        return got;
      },
    };
    const cursor = new TailCursor({ startNs: 0n, batch: 100, overlapNs: 5000n });
    const q = expr('{app="a"} | logfmt');
    const got: string[] = [];
    for (let polls = 0; ; polls++) {
      expect(polls).toBeLessThan(1000);
      const p = await pollTail(q, counting, cursor, BigInt(1000 * n));
      expect(p.entries.length).toBeLessThanOrEqual(100);
      got.push(...p.entries.map((e) => e.line));
      if (!p.more) break;
    }
    expect(got).toEqual(Array.from({ length: n }, (_, i) => `i=${i}`));
    // The first poll reads the whole window; once it was cut, the windows are bounded in time.
    expect(Math.max(...reads.slice(1))).toBeLessThanOrEqual(400);
  });

  test('the pipeline applies: filtered lines are not sent, line_format output is', async () => {
    const head = new LogHead();
    const cursor = new TailCursor({ startNs: 0n, batch: 100, overlapNs: 5n });
    push(head, A, [
      [1, 'level=info msg=hi'],
      [2, 'level=error msg=boom'],
    ]);
    const q = expr('{app="a"} |= "error" | logfmt | line_format "{{.msg}}"');
    const p = await pollTail(q, head, cursor, 10n);
    expect(p.entries.map((e) => e.line)).toEqual(['boom']);
    expect(p.entries[0].labels.get('level')).toBe('error');
    expect((await pollTail(q, head, cursor, 11n)).entries).toEqual([]);
  });

  test('the window never starts before the tail start, and an empty window is not read', async () => {
    const head = new LogHead();
    push(head, A, [
      [5, 'before'],
      [15, 'after'],
    ]);
    const cursor = new TailCursor({ startNs: 10n, batch: 100, overlapNs: 100n });
    expect(cursor.window(10n)).toBeUndefined();
    expect(seen((await pollTail(expr('{app="a"}'), head, cursor, 20n)).entries)).toEqual(['a@15:after']);
    expect(cursor.startNs).toBe(10n);
  });

  test('what is remembered for the dedup stays bounded', async () => {
    const head = new LogHead();
    const cursor = new TailCursor({ startNs: 0n, batch: 10, overlapNs: 1000n, maxRemembered: 20 });
    const q = expr('{app="a"}');
    for (let round = 0; round < 5; round++) {
      push(
        head,
        A,
        Array.from({ length: 10 }, (_, i): [number, string] => [round * 10 + i, `l${round * 10 + i}`]),
      );
      const p = await pollTail(q, head, cursor, BigInt(round * 10 + 10));
      expect(p.entries.map((e) => e.line)).toEqual(Array.from({ length: 10 }, (_, i) => `l${round * 10 + i}`));
      expect(cursor.rememberedCount).toBeLessThanOrEqual(20);
    }
  });

  test('skipTo moves the start on and forgets what came before', async () => {
    const head = new LogHead();
    push(head, A, [
      [1, 'old'],
      [50, 'new'],
    ]);
    const cursor = new TailCursor({ startNs: 0n, batch: 100, overlapNs: 0n });
    cursor.skipTo(40n);
    expect(seen((await pollTail(expr('{app="a"}'), head, cursor, 60n)).entries)).toEqual(['a@50:new']);
  });
});

describe('tailMessage', () => {
  test("Loki's shape: consecutive entries of a stream grouped, order kept, dropped entries with labels and ns", () => {
    const entries: TailEntry[] = [
      { labels: A, timestampNs: 1n, line: 'x' },
      { labels: A, timestampNs: 2n, line: 'y' },
      { labels: B, timestampNs: 3n, line: 'z' },
      { labels: Labels.fromObject({ app: 'a' }), timestampNs: 4n, line: 'w' },
    ];
    expect(JSON.parse(tailMessage(entries, [{ labels: B, timestampNs: 1700000000000000001n }]))).toEqual({
      streams: [
        {
          stream: { app: 'a' },
          values: [
            ['1', 'x'],
            ['2', 'y'],
          ],
        },
        { stream: { app: 'b' }, values: [['3', 'z']] },
        { stream: { app: 'a' }, values: [['4', 'w']] },
      ],
      dropped_entries: [{ timestamp: '1700000000000000001', labels: { app: 'b' } }],
    });
    // Both fields are left out when empty, as Loki's omitempty does.
    expect(tailMessage([])).toBe('{}');
  });
});
