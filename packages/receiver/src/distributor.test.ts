import fc from 'fast-check';
import { Registry } from 'prom-client';
import { Labels } from '@strata/model';
import {
  decodeShare,
  decodeWriteRequestV1,
  decodeWriteRequestV2,
  encodeShare,
  encodeWriteRequestV1,
  encodeWriteRequestV2,
  type SeriesToWrite,
} from '@strata/remote';
import { Hashrings } from '@strata/ring';
import { bitsOf, Distributor, type EndpointResult } from './distributor.js';

const EPS = ['a:1', 'b:1', 'c:1'];

function distributor(rf = 3, endpoints = EPS): Distributor {
  const rings = new Hashrings([
    {
      hashring: 'default',
      tenants: [],
      tenantMatcherType: 'exact',
      algorithm: 'ketama',
      endpoints: endpoints.map((address) => ({ address })),
    },
  ]);
  return new Distributor({
    rings: () => rings,
    self: endpoints[0],
    replicationFactor: rf,
    forwardTimeoutMs: 1000,
    tenantHeader: 'X-Scope-OrgID',
    registry: new Registry(),
  });
}

const result = (status: number, message = ''): EndpointResult => ({
  outcome: status === 0 ? 'unavailable' : status < 300 ? 'ok' : status === 429 ? 'limited' : status < 500 ? 'bad' : 'unavailable',
  status,
  message,
});

describe('replication: quorum decision', () => {
  // RF 3, quorum 2; every series owned by all three endpoints.
  test.each([
    ['all accepted', [204, 204, 204], 204],
    ['one replica down (timeout)', [204, 204, 0], 204],
    ['one replica rejects as bad data, two accept', [204, 204, 400], 204],
    ['two replicas down', [204, 0, 503], 503],
    ['bad data on every replica', [400, 400, 400], 400],
    ['bad data on two, the third accepted', [204, 400, 400], 400],
    ['rate limited on two', [429, 429, 204], 429],
    ['one down, one bad: the down one may accept it on a retry', [204, 0, 400], 503],
    ['bad data on the two live replicas, the third down: 400, a retry could never succeed', [400, 400, 0], 400],
    ['bad data on the live replica, two hung (SIGSTOP, 503 after the timeout)', [0, 400, 503], 503],
    ['one down, one limited: retryable wins', [204, 0, 429], 503],
    ['limited and bad: 429 (the client may retry later)', [204, 429, 400], 429],
  ])('%s: replies %j -> %i', (_name, statuses, want) => {
    const d = distributor();
    const results = new Map(EPS.map((ep, i) => [ep, result(statuses[i], `from ${ep}`)]));
    const decision = d.decide([EPS, EPS], results);
    expect(decision.status).toBe(want);
    if (want >= 500) expect(decision.error?.retryAfter).toBeGreaterThan(0);
    d.close();
  });

  test('the quorum is floor(RF/2)+1 for every RF, RF 2 included', () => {
    expect([1, 2, 3, 4, 5].map((rf) => distributor(rf, ['a:1', 'b:1', 'c:1', 'd:1', 'e:1']).quorum)).toEqual([1, 2, 2, 3, 3]);
  });

  test('a replica that names the series it rejected fails only those: its other series count as stored', () => {
    const d = distributor(3, ['a:1', 'b:1', 'c:1', 'd:1', 'e:1']);
    // Series 0 (valid) on a,b,c; series 1 (an hour in the future) on a,d,e. b is down.
    const owners = [
      ['a:1', 'b:1', 'c:1'],
      ['a:1', 'd:1', 'e:1'],
    ];
    const named: EndpointResult = { outcome: 'bad', status: 400, message: 'too far in the future', rejected: bitsOf([1], 2) };
    const results = new Map([
      ['a:1', named],
      ['b:1', result(0)],
      ['c:1', result(204)],
      ['d:1', result(400, 'too far in the future')],
      ['e:1', result(400, 'too far in the future')],
    ]);
    // Series 0 is on a and c (quorum), series 1 can never be: 400, not a retry storm.
    expect(d.decide(owners, results)).toEqual({
      status: 400,
      error: expect.objectContaining({ status: 400, detail: expect.stringContaining('too far in the future') }),
    });
    // Had a not named it, series 0 would count a's 400 against it and b might still accept it.
    results.set('a:1', result(400, 'too far in the future'));
    expect(d.decide(owners, results).status).toBe(503);
    d.close();
  });

  test('a series counts only its own owners: a failure elsewhere does not fail it', () => {
    const d = distributor(2, ['a:1', 'b:1', 'c:1']);
    const results = new Map([
      ['a:1', result(204)],
      ['b:1', result(204)],
      ['c:1', result(0)],
    ]);
    expect(d.decide([['a:1', 'b:1']], results).status).toBe(204);
    expect(
      d.decide(
        [
          ['a:1', 'b:1'],
          ['b:1', 'c:1'],
        ],
        results,
      ).status,
    ).toBe(503);
  });
});

const labelValue = fc.string({ minLength: 1, maxLength: 10, unit: fc.constantFrom('a', 'b', '_', 'é', '1') });
const seriesArb: fc.Arbitrary<SeriesToWrite> = fc
  .record({
    job: labelValue,
    inst: labelValue,
    samples: fc.array(fc.tuple(fc.integer({ min: 0, max: 4e12 }), fc.double()), { minLength: 1, maxLength: 4 }),
  })
  .map(({ job, inst, samples }) => ({
    labels: Labels.fromObject({ __name__: 'm', instance: inst, job }),
    timestamps: samples.map((s) => s[0]),
    values: Float64Array.from(samples.map((s) => s[1])),
  }));

describe('replication: shares', () => {
  test('a share decodes to exactly its series, from 1.0 (copied bytes), 2.0 and forwarded-share batches (re-encoded) (property)', () => {
    const d = distributor();
    fc.assert(
      fc.property(fc.array(fc.tuple(seriesArb, fc.boolean()), { minLength: 1, maxLength: 12 }), (picked) => {
        const series = picked.map(([s]) => s);
        const indices = picked.flatMap(([, keep], i) => (keep ? [i] : []));
        const all = series.map((_, i) => i);
        // A batch decoded from a forwarded share: its label ranges index the share's field table, not bytes.
        const fromShare = (v2: boolean) =>
          decodeShare(
            encodeShare(
              v2 ? decodeWriteRequestV2(encodeWriteRequestV2(series)) : decodeWriteRequestV1(encodeWriteRequestV1(series)),
              all,
              [],
              v2,
            ),
          ).batch;
        for (const batch of [
          decodeWriteRequestV1(encodeWriteRequestV1(series)),
          decodeWriteRequestV2(encodeWriteRequestV2(series)),
          fromShare(false),
          fromShare(true),
        ]) {
          const share = decodeWriteRequestV1(d.encodeShare(batch, indices));
          expect(share.series.map((s) => share.labelsOf(s))).toEqual(indices.map((i) => series[i].labels.pairs));
          const ts = share.series.map((s) => Array.from(share.timestamps.subarray(s.sampleStart, s.sampleEnd)));
          expect(ts).toEqual(indices.map((i) => series[i].timestamps));
          const vs = share.series.map((s) => Buffer.from(share.values.slice(s.sampleStart, s.sampleEnd).buffer).toString('hex'));
          expect(vs).toEqual(
            indices.map((i) => Buffer.from(Float64Array.from(series[i].values as ArrayLike<number>).buffer).toString('hex')),
          );
        }
      }),
    );
    d.close();
  });

  test('with RF equal to the ring size every endpoint owns everything; a bigger ring places each series on RF distinct endpoints', () => {
    const d3 = distributor(3);
    expect(d3.ownsEverything(d3.ringFor('t'))).toBe(true);
    const d4 = distributor(3, ['a:1', 'b:1', 'c:1', 'd:1']);
    const ring = d4.ringFor('t');
    expect(d4.ownsEverything(ring)).toBe(false);
    const labels = Array.from({ length: 200 }, (_, i) => Labels.fromObject({ __name__: 'm', i: String(i) }));
    const { owners, byEndpoint } = d4.plan(ring, 't', labels);
    for (const o of owners) expect(new Set(o).size).toBe(3);
    expect([...byEndpoint.values()].reduce((n, idx) => n + idx.length, 0)).toBe(600);
    // Owner lists are interned: at most C(4,3) x orderings distinct arrays for 200 series.
    expect(new Set(owners).size).toBeLessThanOrEqual(24);
    d3.close();
    d4.close();
  });

  test('a ring smaller than the replication factor is a retryable 503, not a crash', () => {
    const d = distributor(3, ['a:1', 'b:1']);
    expect(() => d.ringFor('t')).toThrow(expect.objectContaining({ id: 'ring-unavailable', status: 503 }));
    d.close();
  });
});
