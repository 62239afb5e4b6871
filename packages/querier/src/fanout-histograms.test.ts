/**
 * The fan-out over stores with native histograms: two replicas whose replica label is dropped
 * (Thanos' deduplication) and a store without replicas. The packed select a query worker is sent
 * (selectRawInto, across a MessagePort) decodes to what the fan-out's own select gives on the main
 * thread, histograms included, whichever replica holds which samples.
 */
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { Labels, Matcher, RawPacker, rawTransfer, unpackRaw, type PackedRaw, type Series } from '@strata/model';
import { decodeRawSeries } from '@strata/tsdb';
import { canonical, headOf, stepArb } from '../../tsdb/test/histogram-heads.js';
import { FanoutQueryable } from './fanout.js';

async function viaPort(p: PackedRaw): Promise<PackedRaw> {
  const { port1, port2 } = new MessageChannel();
  const got = new Promise<PackedRaw>((resolve) => port2.once('message', resolve));
  port1.postMessage(p, rawTransfer(p));
  const out = await got;
  port1.close();
  port2.close();
  return out;
}

test.each([[['replica']], [[]]])('replica labels %j: the packed select decodes to the fan-out select (property)', async (replicaLabels) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(stepArb, { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.array(stepArb, { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 0, max: 35_000 }),
      async (one, two, end) => {
        const heads = [headOf(one, { replica: 'r1' }), headOf(two, { replica: 'r2' })];
        const fanout = new FanoutQueryable(() => heads.map((h, k) => ({ name: `r${k}`, queryable: { querier: () => h.querier() } })), {
          replicaLabels,
          partialResponse: false,
          coalesce: false,
        }).querier('t');
        const ms = [new Matcher('=', '__name__', 'h')];
        const hints = { start: 0, end };
        const want = (await fanout.select(ms, hints)).map(canonical);
        const into = new RawPacker();
        await fanout.selectRawInto!(ms, hints, into);
        const got = unpackRaw(await viaPort(into.finish()))
          .map((r) => decodeRawSeries(r, hints.start, hints.end))
          .filter((s): s is Series => !!s)
          .sort((a, b) => Labels.compare(a.labels, b.labels))
          .map(canonical);
        expect(got).toEqual(want);
      },
    ),
    { numRuns: 100 },
  );
});
