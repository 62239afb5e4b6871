import fc from 'fast-check';
import { Labels, Matcher, prometheusLabelsHash } from '@strata/model';
import { ExemplarStatus, ExemplarStore, exemplarOrder, type Exemplar } from './store.js';

const series = ['a', 'b', 'c', 'd'].map((job) => Labels.fromObject({ __name__: 'http_requests_total', job }));
const all = [[new Matcher('=~', '__name__', '.+')]];

/** The store's specification: the newest `size` accepted exemplars, refusals decided against the retained ones. */
class Model {
  held: [number, Exemplar][] = [];
  constructor(private size: number) {}
  add(k: number, e: Exemplar): ExemplarStatus {
    if (this.size === 0) return ExemplarStatus.DISABLED;
    const mine = this.held.filter(([s]) => s === k);
    const newest = mine[mine.length - 1]?.[1];
    if (newest && e.timestamp < newest.timestamp) return ExemplarStatus.OUT_OF_ORDER;
    if (newest && e.timestamp === newest.timestamp) {
      if (Object.is(e.value, newest.value) && e.labels.join() === newest.labels.join()) return ExemplarStatus.DUPLICATE;
      if (e.value < newest.value) return ExemplarStatus.OUT_OF_ORDER;
      if (e.value === newest.value && prometheusLabelsHash(e.labels) < prometheusLabelsHash(newest.labels))
        return ExemplarStatus.OUT_OF_ORDER;
    }
    this.held.push([k, e]);
    if (this.held.length > this.size) this.held.shift();
    return ExemplarStatus.OK;
  }
  select(mint: number, maxt: number, keys: Set<number>) {
    return [...keys]
      .sort((x, y) => (series[x].key() < series[y].key() ? -1 : 1))
      .map((k) => ({
        seriesLabels: series[k],
        exemplars: this.held.filter(([s, e]) => s === k && e.timestamp >= mint && e.timestamp <= maxt).map(([, e]) => e),
      }))
      .filter((s) => s.exemplars.length > 0);
  }
}

const op = fc.record({
  series: fc.nat(series.length - 1),
  dt: fc.integer({ min: -3, max: 5 }),
  value: fc.constantFrom(1, 2, 0.5),
  trace: fc.constantFrom('t1', 't2'),
});

// Two exemplar label sets in Prometheus' labels.Hash order.
const [LO, HI] = [
  ['trace_id', 't1'],
  ['trace_id', 't2'],
].sort((a, b) => (prometheusLabelsHash(a) < prometheusLabelsHash(b) ? -1 : 1));

describe('exemplarOrder: what may follow a series newest exemplar (Prometheus CircularExemplarStorage)', () => {
  const newest = { labels: HI, value: 2, timestamp: 10 };
  const f = (e: Exemplar, want: ExemplarStatus) => expect(exemplarOrder(newest.timestamp, newest.value, newest.labels, e)).toBe(want);
  test('same timestamp and value, higher label hash: accepted', () => {
    expect(exemplarOrder(10, 2, LO, { labels: HI, value: 2, timestamp: 10 })).toBe(ExemplarStatus.OK);
  });
  test.each([
    ['a later timestamp, whatever its value', { labels: LO, value: -1, timestamp: 11 }, ExemplarStatus.OK],
    ['an earlier timestamp', { labels: HI, value: 9, timestamp: 9 }, ExemplarStatus.OUT_OF_ORDER],
    ['the same exemplar again (a resend)', { labels: HI, value: 2, timestamp: 10 }, ExemplarStatus.DUPLICATE],
    ['same timestamp, larger value (another native histogram bucket)', { labels: LO, value: 3, timestamp: 10 }, ExemplarStatus.OK],
    ['same timestamp, smaller value', { labels: HI, value: 1, timestamp: 10 }, ExemplarStatus.OUT_OF_ORDER],
    ['same timestamp and value, lower label hash', { labels: LO, value: 2, timestamp: 10 }, ExemplarStatus.OUT_OF_ORDER],
    ['same timestamp, NaN value (never less, never equal)', { labels: LO, value: NaN, timestamp: 10 }, ExemplarStatus.OK],
  ] as [string, Exemplar, ExemplarStatus][])('%s', (_, e, want) => f(e, want));
});

describe('ExemplarStore', () => {
  test('matches its model: bounded, oldest evicted first, per-series order kept (property)', () => {
    fc.assert(
      fc.property(fc.nat(6), fc.array(op, { maxLength: 60 }), fc.nat(20), fc.nat(40), (size, ops, from, span) => {
        const store = new ExemplarStore(size);
        const model = new Model(size);
        const last = new Map<number, number>();
        for (const o of ops) {
          const t = Math.max(0, (last.get(o.series) ?? 10) + o.dt);
          last.set(o.series, t);
          const e = { labels: ['trace_id', o.trace], value: o.value, timestamp: t };
          expect(store.add(series[o.series], e)).toBe(model.add(o.series, e));
          expect(store.count).toBe(model.held.length);
        }
        expect(store.select(-Infinity, Infinity, all)).toEqual(model.select(-Infinity, Infinity, new Set([0, 1, 2, 3])));
        expect(store.select(from, from + span, all)).toEqual(model.select(from, from + span, new Set([0, 1, 2, 3])));
        const onlyB = [[new Matcher('=', 'job', 'b')], [new Matcher('=~', 'job', 'c|zzz')]];
        expect(store.select(-Infinity, Infinity, onlyB)).toEqual(model.select(-Infinity, Infinity, new Set([1, 2])));
        expect(store.seriesCount).toBe(new Set(model.held.map(([s]) => s)).size);
      }),
      { numRuns: 500 },
    );
  });

  test('resize keeps the newest exemplars that fit, and the store goes on from there', () => {
    const s = new ExemplarStore(5);
    for (let t = 0; t < 8; t++) s.add(series[t % 2], { labels: ['trace_id', `t${t}`], value: t, timestamp: t });
    s.resize(3);
    expect(s.capacity).toBe(3);
    const ts = (r: ReturnType<ExemplarStore['select']>) => r.flatMap((x) => x.exemplars.map((e) => e.timestamp)).sort((a, b) => a - b);
    expect(ts(s.select(-Infinity, Infinity, all))).toEqual([5, 6, 7]);
    s.add(series[2], { labels: [], value: 1, timestamp: 8 });
    expect(ts(s.select(-Infinity, Infinity, all))).toEqual([6, 7, 8]);
    s.resize(0);
    expect(s.add(series[0], { labels: [], value: 1, timestamp: 9 })).toBe(ExemplarStatus.DISABLED);
    expect(s.select(-Infinity, Infinity, all)).toEqual([]);
  });
});
