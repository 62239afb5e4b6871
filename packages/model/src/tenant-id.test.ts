import path from 'node:path';
import fc from 'fast-check';
import { checkTenantId, MAX_TENANT_ID_LENGTH, tenantIdProblem } from './tenant-id.js';
import { StrataError } from './errors.js';

describe('tenant IDs', () => {
  test.each([
    ['team-a'],
    ['Team_A.prod'],
    ["o'brien(1)*!"],
    ['a'.repeat(MAX_TENANT_ID_LENGTH)],
    ['...'],
    ['.hidden'],
    ['__mimir_cluster2'],
  ])('%s is valid', (id) => expect(checkTenantId(id)).toBe(id));

  test.each([
    ['', 'empty'],
    ['.', 'current directory'],
    ['..', 'parent directory'],
    ['../b', 'parent path'],
    ['a/b', 'slash'],
    ['a\\b', 'backslash'],
    ['..%2F..%2Fetc', 'percent-encoded slash'],
    ['%2e%2e', 'percent-encoded dots'],
    ['a\u0000b', 'NUL'],
    ['a b', 'space'],
    ['a,b', 'comma (two tenant headers joined)'],
    ['a|b', 'federated tenant list'],
    ['a\u2215b', 'division slash look-alike'],
    ['a\u2044b', 'fraction slash look-alike'],
    ['a\uff0fb', 'fullwidth slash'],
    ['\uff0e\uff0e', 'fullwidth dots'],
    ['\u2024\u2024', 'one-dot leaders'],
    ['tеam', 'Cyrillic e'],
    ['a'.repeat(MAX_TENANT_ID_LENGTH + 1), 'too long'],
    ['__mimir_cluster', 'reserved by Mimir'],
  ])('%j is invalid (%s) with err-strata-invalid-tenant, 400', (id) => {
    expect(tenantIdProblem(id)).toBeDefined();
    let err: unknown;
    try {
      checkTenantId(id);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).code).toBe('err-strata-invalid-tenant');
    expect((err as StrataError).status).toBe(400);
  });

  test('every accepted ID is exactly one folder directly under its parent, by POSIX and Windows path rules', () => {
    const root = '/var/lib/strata/tsdb/tenants';
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.stringMatching(/^[a-z./%\\]{1,8}$/)), (id) => {
        if (tenantIdProblem(id) !== undefined) return;
        for (const p of [path.posix, path.win32]) {
          const joined = p.join(root, id);
          expect(p.dirname(joined)).toBe(p.normalize(root));
          expect(p.basename(joined)).toBe(id);
        }
        // The bucket prefix `<tenant>/` is one key segment as well.
        expect(`${id}/x`.split('/')[0]).toBe(id);
      }),
      { numRuns: 5000 },
    );
  });
});
