import fc from 'fast-check';
import type { Downstream, DownstreamRequest, DownstreamResponse } from './downstream.js';
import { QuerierPool, tenantQueriers } from './querier-pool.js';

const Q = ['http://q0:8080', 'http://q1:8080', 'http://q2:8080', 'http://q3:8080', 'http://q4:8080'];

describe('tenantQueriers', () => {
  test.each([
    { n: 0, size: 5, why: '0 means every querier' },
    { n: -1, size: 5, why: 'a negative limit is no limit' },
    { n: 1, size: 1, why: 'one querier' },
    { n: 3, size: 3, why: 'three of five' },
    { n: 5, size: 5, why: 'as many as there are' },
    { n: 9, size: 5, why: 'more than there are' },
  ])('n=$n: $size queriers ($why)', ({ n, size }) => {
    for (const tenant of ['team-a', 'team-b', 'anonymous', '']) {
      const got = tenantQueriers(tenant, Q, n);
      expect(got).toHaveLength(size);
      expect(new Set(got).size).toBe(size);
      for (const q of got) expect(Q).toContain(q);
      // Stable: the same answer every time, whatever the order the queriers are listed in.
      expect(new Set(tenantQueriers(tenant, [...Q].reverse(), n))).toEqual(new Set(got));
    }
  });

  test('a querier added moves a tenant only onto the new querier', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 4 }), (tenant, n) => {
        const before = tenantQueriers(tenant, Q, n);
        const after = tenantQueriers(tenant, [...Q, 'http://q5:8080'], n);
        const moved = after.filter((q) => !before.includes(q));
        expect(moved.every((q) => q === 'http://q5:8080')).toBe(true);
      }),
    );
  });

  test('tenants spread over the queriers', () => {
    const counts = new Map(Q.map((q) => [q, 0]));
    for (let t = 0; t < 1000; t++) for (const q of tenantQueriers(`tenant-${t}`, Q, 2)) counts.set(q, counts.get(q)! + 1);
    // 2000 places over 5 queriers: 400 each on average; a fair hash stays well within ±25%.
    for (const c of counts.values()) expect(Math.abs(c - 400)).toBeLessThan(100);
  });
});

/** A querier answering after `ms`, counting the requests it got per tenant. */
class TimedQuerier implements Downstream {
  readonly got: string[] = [];
  constructor(
    private readonly ms: number,
    private readonly status = 200,
  ) {}
  async request(r: DownstreamRequest): Promise<DownstreamResponse> {
    this.got.push(r.tenant ?? '');
    await new Promise((resolve) => setTimeout(resolve, this.ms));
    return { status: this.status, headers: {}, body: Buffer.from('{}') };
  }
}

function req(tenant: string): DownstreamRequest {
  return { method: 'GET', path: '/api/v1/query', headers: {}, signal: new AbortController().signal, tenant };
}

describe('QuerierPool', () => {
  test("a tenant's requests reach only its own queriers, the least busy first", async () => {
    const queriers = Q.map(() => new TimedQuerier(5));
    const limits: Record<string, number> = { one: 1, two: 2, all: 0 };
    const pool = new QuerierPool(
      Q.map((name, i) => ({ name, downstream: queriers[i] })),
      (t) => limits[t],
    );
    const tenants = Object.keys(limits);
    await Promise.all(tenants.flatMap((t) => Array.from({ length: 20 }, () => pool.request(req(t)))));
    for (const t of tenants) {
      const reached = Q.filter((_, i) => queriers[i].got.includes(t));
      const own = tenantQueriers(t, Q, limits[t]);
      expect(reached.length).toBeGreaterThan(0);
      for (const q of reached) expect(own).toContain(q);
    }
  });

  test("a tenant's concurrent requests share its queriers evenly", async () => {
    const queriers = Q.map(() => new TimedQuerier(5));
    const pool = new QuerierPool(
      Q.map((name, i) => ({ name, downstream: queriers[i] })),
      () => 2,
    );
    await Promise.all(Array.from({ length: 20 }, () => pool.request(req('two'))));
    const counts = tenantQueriers('two', Q, 2).map((q) => queriers[Q.indexOf(q)].got.length);
    expect(counts).toEqual([10, 10]);
    expect(queriers.reduce((n, q) => n + q.got.length, 0)).toBe(20);
  });

  test("a retry after a 5xx goes to another of the tenant's queriers", async () => {
    const own = tenantQueriers('t', Q, 2);
    const queriers = Q.map((q) => new TimedQuerier(0, q === own[0] ? 503 : 200));
    const pool = new QuerierPool(
      Q.map((name, i) => ({ name, downstream: queriers[i] })),
      () => 2,
    );
    const r = req('t');
    // The first attempt goes to own[0] (both idle, the first in rendezvous order), which fails.
    expect((await pool.request(r)).status).toBe(503);
    expect((await pool.request(r)).status).toBe(200);
    expect(queriers[Q.indexOf(own[1])].got).toEqual(['t']);
  });
});
