/**
 * Native histograms through the head's raw selects (what query workers are sent): selectRaw and
 * selectRawInto, packed and moved across a MessagePort by transfer, then decoded as a worker
 * decodes them, give exactly what select gives on the head's own thread: floats, histograms with
 * their counter-reset hints, staleness markers, closed and open chunks, any time window.
 */
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { Labels, Matcher, RawPacker, rawTransfer, unpackRaw, type PackedRaw, type Series } from '@strata/model';
import { canonical, headOf, stepArb } from '../../test/histogram-heads.js';
import { decodeRawSeries } from '../raw-decode.js';

async function viaPort(p: PackedRaw): Promise<PackedRaw> {
  const { port1, port2 } = new MessageChannel();
  const got = new Promise<PackedRaw>((resolve) => port2.once('message', resolve));
  port1.postMessage(p, rawTransfer(p));
  const out = await got;
  port1.close();
  port2.close();
  return out;
}

const byLabels = (a: Series, b: Series) => Labels.compare(a.labels, b.labels);

test('selectRaw and selectRawInto (across a MessagePort) decode to what select gives, histograms included (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(stepArb, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 0, max: 45_000 }),
      fc.integer({ min: 0, max: 45_000 }),
      async (series, a, b) => {
        const head = headOf(series);
        const q = head.querier();
        const hints = { start: Math.min(a, b), end: Math.max(a, b) };
        const ms = [new Matcher('=', '__name__', 'h')];
        const want = (await q.select(ms, hints)).map(canonical);
        const decode = (raw: ReturnType<typeof unpackRaw>) =>
          raw
            .map((r) => decodeRawSeries(r, hints.start, hints.end))
            .filter((s): s is Series => !!s)
            .sort(byLabels)
            .map(canonical);
        expect(decode(await q.selectRaw!(ms, hints))).toEqual(want);
        const into = new RawPacker();
        await q.selectRawInto!(ms, hints, into);
        expect(decode(unpackRaw(await viaPort(into.finish())))).toEqual(want);
      },
    ),
    { numRuns: 150 },
  );
});

test('a series of histograms only is a series to /api/v1/series and the fetch budget', async () => {
  const head = headOf([[{ kind: 'hist', float: false, grow: [1, 0, 2, 0], gauge: false }]]);
  const charged = { series: 0, bytes: 0 };
  const budget = { series: (n: number) => (charged.series += n), chunks: () => {}, bytes: (n: number) => (charged.bytes += n) };
  const q = head.querier();
  const hints = { start: 0, end: 10_000, budget };
  expect(await q.series([new Matcher('=', '__name__', 'h')], hints)).toHaveLength(1);
  await q.selectRawInto!([new Matcher('=', '__name__', 'h')], hints, new RawPacker());
  expect(charged.series).toBe(1);
  expect(charged.bytes).toBeGreaterThan(0);
});
