import { FloatHistogram, Labels } from '@strata/model';
import { HistogramStore } from '../../test/promqltest/histogram-store.js';
import { Engine } from './engine.js';

const store = new HistogramStore();
const put = (o: Record<string, string>, v: number, h?: FloatHistogram) => store.append(Labels.fromObject(o), 0, v, h);
put({ __name__: 'a', k: '1' }, 1);
put({ __name__: 'a', k: '2', x: 'p' }, 2);
put({ __name__: 'a', k: '2', x: 'q' }, 3);
put({ __name__: 'b', k: '3' }, 30);
put(
  { __name__: 'lat', k: '4' },
  0,
  new FloatHistogram({ count: 2, sum: 3, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [2] }),
);

const engine = new Engine();
const labelsOf = async (q: string) => {
  const out = await engine.instantQuery(store, q, 0);
  if (out.result.resultType !== 'vector') throw new Error('vector expected');
  return { series: out.result.vector.map((s) => `${s.labels.toString()} ${s.h ? 'histogram' : s.v}`), infos: out.infos };
};

describe('fill modifiers', () => {
  test('a filled side still needs the matching to be unique', async () => {
    // Two a{k="2"} on the left match no b: filling b for both gives the same labels twice.
    await expect(labelsOf('a + on(k) fill_right(0) b')).rejects.toThrow(/multiple matches for labels/);
    // With group_left they are many; b{k="3"} matches no a and, without fill_left, yields nothing.
    await expect(labelsOf('a + on(k) group_left fill_right(0) b')).resolves.toEqual({
      series: ['{k="1"} 1', '{k="2", x="p"} 2', '{k="2", x="q"} 3'],
      infos: [],
    });
  });

  test('a histogram against a filled float is an incompatible pair: dropped with an info, as against a float sample', async () => {
    const got = await labelsOf('lat + on(k) fill(1) b');
    expect(got.series).toEqual(['{k="3"} 31']);
    expect(got.infos.join()).toMatch(/incompatible sample types encountered for binary operator "\+": histogram \+ float/);
  });
});
