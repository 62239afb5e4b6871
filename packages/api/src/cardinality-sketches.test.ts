import fc from 'fast-check';
import { Labels, type Matcher } from '@strata/model';
import {
  buildSketches,
  decodeSketches,
  emptySketches,
  encodeSketches,
  mergeSketchesInto,
  type SketchSource,
} from './cardinality-sketches.js';
import { labelNamesFromSketches, labelValuesFromSketches, tsdbStatusFromSketches } from './cardinality-answers.js';

/** A head of the given series: exact counts from the series themselves (no selector support needed here). */
function sourceOf(series: Labels[]): SketchSource {
  return {
    labelValueCounts: (names: readonly string[] | undefined, _m: readonly Matcher[] | undefined) => {
      const out = new Map<string, Map<string, number>>();
      for (const l of series)
        for (let i = 0; i < l.pairs.length; i += 2) {
          if (names && !names.includes(l.pairs[i])) continue;
          let m = out.get(l.pairs[i]);
          if (!m) out.set(l.pairs[i], (m = new Map()));
          m.set(l.pairs[i + 1], (m.get(l.pairs[i + 1]) ?? 0) + 1);
        }
      return out;
    },
    seriesLabels: async () => series,
    headStats: () => ({ chunkCount: series.length, minTime: 1000, maxTime: 2000 }),
  };
}

const seriesArb = fc
  .uniqueArray(fc.record({ m: fc.constantFrom('a', 'b', 'c'), x: fc.integer({ min: 0, max: 40 }), y: fc.constantFrom('p', 'q') }), {
    selector: (r) => `${r.m}/${r.x}/${r.y}`,
    maxLength: 200,
  })
  .map((rs) => rs.map((r) => Labels.fromObject({ __name__: r.m, x: String(r.x), y: r.y })));

describe('cardinality sketches', () => {
  test('receivers holding overlapping replicas merge to the answers of one node holding everything (property)', async () => {
    await fc.assert(
      fc.asyncProperty(seriesArb, fc.integer({ min: 1, max: 3 }), async (series, rf) => {
        // Three receivers, each series on rf of them (counts stay in the exact range: answers are equal).
        const parts: Labels[][] = [[], [], []];
        series.forEach((l, i) => {
          for (let r = 0; r < rf; r++) parts[(i + r) % 3].push(l);
        });
        const merged = emptySketches();
        for (const p of parts) mergeSketchesInto(merged, decodeSketches(encodeSketches(await buildSketches(sourceOf(p), { top: 100 }))));
        const one = await buildSketches(sourceOf(series), { top: 100 });
        const a = tsdbStatusFromSketches(merged, 100);
        const b = tsdbStatusFromSketches(one, 100);
        // Chunks are scaled by distinct / summed series: equal here since every replica has one chunk per series.
        expect(a).toEqual(b);
        expect(a.headStats.numSeries).toBe(series.length);
        expect(labelNamesFromSketches(merged, 20)).toEqual(labelNamesFromSketches(one, 20));
      }),
      { numRuns: 40 },
    );
  });

  test('label_values candidates are per label name, and explicit pairs and metrics are added', async () => {
    const series = [
      ...Array.from({ length: 5 }, (_, i) => Labels.fromObject({ __name__: 'm', x: 'hot', i: String(i) })),
      Labels.fromObject({ __name__: 'm', x: 'cold', i: '9' }),
      Labels.fromObject({ __name__: 'other', y: 'v' }),
    ];
    const s = await buildSketches(sourceOf(series), { top: 1, pairNames: ['x'], metrics: ['other'], pairs: [['y', 'v']] });
    expect([...s.pairs.keys()].sort()).toEqual(['x=hot', 'y=v']);
    expect([...s.metrics.keys()].sort()).toEqual(['m', 'other']);
    const answer = labelValuesFromSketches(s, ['x'], 10);
    expect(answer).toEqual({
      series_count_total: 7,
      labels: [{ label_name: 'x', label_values_count: 2, series_count: 6, cardinality: [{ label_value: 'hot', series_count: 5 }] }],
    });
  });

  test('a truncated or foreign answer is refused', () => {
    const bytes = encodeSketches(emptySketches());
    expect(() => decodeSketches(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated/);
    expect(() => decodeSketches(new TextEncoder().encode('\u0004\u0000\u0000\u0000XXXX'))).toThrow(/not a sketch answer/);
  });
});
