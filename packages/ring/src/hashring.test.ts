import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Labels } from '@strata/model';
import { HashringConfigError, parseHashrings } from './config.js';
import { Hashrings, InsufficientEndpointsError, KetamaHashring, writeQuorum } from './hashring.js';
import { watchHashrings } from './watcher.js';

const series = (n: number) =>
  Array.from({ length: n }, (_, i) => Labels.fromObject({ __name__: 'm', instance: `host-${i % 997}`, i: String(i) }));
const SERIES = series(100_000);
const eps = (n: number) => Array.from({ length: n }, (_, i) => ({ address: `r${i}:9009` }));

describe('ketama hashring', () => {
  test('100k series over 3 endpoints (RF 1): each holds within 10% of a third', () => {
    const ring = new KetamaHashring('default', eps(3));
    const counts = new Map<string, number>();
    for (const s of SERIES) {
      const [e] = ring.getN('t', s, 1);
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    for (const c of counts.values()) expect(Math.abs(c - SERIES.length / 3) / (SERIES.length / 3)).toBeLessThan(0.1);
  });

  test.each([3, 4, 5, 6])('adding one endpoint to %i moves about 1/(N+1) of the series, none between old endpoints', (n) => {
    const before = new KetamaHashring('d', eps(n));
    const after = new KetamaHashring('d', eps(n + 1));
    let moved = 0;
    let wrong = 0;
    for (const s of SERIES) {
      const a = before.getN('t', s, 1)[0];
      const b = after.getN('t', s, 1)[0];
      if (a !== b) {
        moved++;
        if (b !== `r${n}:9009`) wrong++;
      }
    }
    expect(wrong).toBe(0);
    expect(Math.abs(moved / SERIES.length - 1 / (n + 1))).toBeLessThan(0.05);
  });

  test('replicas always land on distinct endpoints (property), deterministically and independent of file order', () => {
    const ring = new KetamaHashring('d', eps(5));
    const shuffled = new KetamaHashring('d', [...eps(5)].reverse());
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('a', 'b', 'job', 'x'), fc.string(), { minKeys: 1 }),
        fc.integer({ min: 1, max: 5 }),
        (o, rf) => {
          const l = Labels.fromObject(o);
          const got = ring.getN('tenant', l, rf);
          expect(new Set(got).size).toBe(rf);
          expect(shuffled.getN('tenant', l, rf)).toEqual(got);
        },
      ),
    );
  });

  test('owners are interned per owner set and do not depend on what was placed before (property)', () => {
    const ring = new KetamaHashring('d', eps(5));
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.constantFrom('a', 'b', 'job', 'x'), fc.string(), { minKeys: 1 }), { minLength: 1 }), (os) => {
        const rf = 3;
        // A fresh ring placing the same series in the opposite order answers the same;
        // equal sets are the same frozen array.
        const fresh = new KetamaHashring('d', eps(5));
        const reversed = [...os].reverse().map((o) => fresh.getN('tenant', Labels.fromObject(o), rf));
        const bySet = new Map<string, readonly string[]>();
        for (const [k, o] of os.entries()) {
          const l = Labels.fromObject(o);
          const got = ring.getN('tenant', l, rf);
          expect(reversed[os.length - 1 - k]).toEqual(got);
          expect(Object.isFrozen(got)).toBe(true);
          const key = got.join(',');
          expect(bySet.get(key) ?? got).toBe(got);
          bySet.set(key, got);
        }
      }),
      { numRuns: 50 },
    );
  });

  test('zones: replicas spread over zones first', () => {
    const ring = new KetamaHashring('z', [
      { address: 'a1', az: 'a' },
      { address: 'a2', az: 'a' },
      { address: 'b1', az: 'b' },
      { address: 'b2', az: 'b' },
      { address: 'c1', az: 'c' },
    ]);
    for (const s of SERIES.slice(0, 2000)) {
      const zones = ring.getN('t', s, 3).map((e) => e[0]);
      expect(new Set(zones).size).toBe(3);
    }
  });

  test('fewer endpoints than the replication factor is a typed error, not a crash', () => {
    expect(() => new KetamaHashring('d', eps(2)).getN('t', SERIES[0], 3)).toThrow(InsufficientEndpointsError);
  });
});

test.each([
  [1, 1],
  [2, 2],
  [3, 2],
  [4, 3],
  [5, 3],
])('write quorum for RF %i is %i', (rf, q) => expect(writeQuorum(rf)).toBe(q));

describe('hashrings.json', () => {
  test('Thanos format: tenants, default ring, string and object endpoints, algorithms', () => {
    const rings = new Hashrings(
      parseHashrings(
        JSON.stringify([
          { hashring: 'team-a', tenants: ['a', 'a2'], endpoints: ['x:1', { address: 'y:1' }], algorithm: 'hashmod' },
          { hashring: 'globbed', tenants: ['ops-*'], tenant_matcher_type: 'glob', endpoints: ['g:1'] },
          { hashring: 'default', endpoints: ['d1:1', 'd2:1', 'd3:1'] },
        ]),
      ),
    );
    expect(rings.forTenant('a')?.name).toBe('team-a');
    expect(rings.forTenant('ops-eu')?.name).toBe('globbed');
    expect(rings.forTenant('anyone')?.name).toBe('default');
    expect(rings.status(3).map((s) => s.replicationFactorSatisfied)).toEqual([false, false, true]);
  });

  test('tenant globs are RE2: a hostile tenant ID against a many-star glob answers at once', () => {
    const rings = new Hashrings(
      parseHashrings(
        JSON.stringify([
          { hashring: 'globbed', tenants: ['*a*a*a*a*a*a*a*a*b', 'x?y.z'], tenant_matcher_type: 'glob', endpoints: ['g:1'] },
          { hashring: 'default', endpoints: ['d:1'] },
        ]),
      ),
    );
    const t = performance.now();
    // A backtracking engine tries about 150^8 splits of this ID before giving up.
    expect(rings.forTenant('a'.repeat(150))?.name).toBe('default');
    expect(performance.now() - t).toBeLessThan(1000);
    expect(rings.forTenant(`${'a'.repeat(9)}b`)?.name).toBe('globbed');
    // `?` is one character and `.` a literal dot, as in Thanos' globs.
    expect([rings.forTenant('xqy.z')?.name, rings.forTenant('xqyqz')?.name]).toEqual(['globbed', 'default']);
  });

  test.each([
    ['[]', /non-empty array/],
    ['[{"endpoints":[]}]', /no endpoints/],
    ['[{"endpoints":["a","a"]}]', /twice/],
    ['[{"endpoints":["a"],"algorithm":"rendezvous"}]', /unknown algorithm/],
    ['not json', /not valid JSON/],
    // Found by fuzzing (npm run fuzz -- hashrings): these were TypeErrors, not configuration errors.
    ['[null]', /hashring 0 is not an object/],
    ['[{"hashring":"default","endpoints":[null,"b:10901"]}]', /neither a string nor an object/],
    ['[{"endpoints":[{"address":7}]}]', /without an address/],
    ['[{"endpoints":[{"address":"a","az":[]}]}]', /az that is not a string/],
    ['[{"endpoints":["a"],"tenants":"t"}]', /not a list of strings/],
    ['[7]', /not an object/],
  ])('%s is refused clearly', (text, msg) => {
    expect(() => parseHashrings(text)).toThrow(HashringConfigError);
    expect(() => parseHashrings(text)).toThrow(msg);
  });

  test('the watcher applies valid edits and keeps the old rings on a bad one', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'strata-ring-')), 'hashrings.json');
    fs.writeFileSync(file, JSON.stringify([{ endpoints: ['a:1'] }]));
    const seen: number[] = [];
    const errors: string[] = [];
    const stop = watchHashrings(file, (cfg) => seen.push(cfg[0].endpoints.length), {
      intervalMs: 20,
      onError: (e) => errors.push(e.message),
    });
    fs.writeFileSync(file, JSON.stringify([{ endpoints: ['a:1', 'b:1'] }]));
    await new Promise((r) => setTimeout(r, 100));
    fs.writeFileSync(file, '[{"endpoints": [');
    await new Promise((r) => setTimeout(r, 100));
    stop();
    expect(seen).toEqual([1, 2]);
    expect(errors.length).toBe(1);
  });
});
