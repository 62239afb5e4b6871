import fc from 'fast-check';
import { WireRefTable } from './wire-refs.js';

describe('WireRefTable', () => {
  test('a ref kept with bytes is found by exactly those bytes, across growth, replacement and clearing', () => {
    // Few hashes, so entries collide, replace one another and probe past one another.
    const op = fc.record({ hash: fc.nat(50), bytes: fc.uint8Array({ maxLength: 12 }), withBytes: fc.boolean() });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 4000 }), fc.nat(4000), (ops, clearAt) => {
        const t = new WireRefTable();
        const want = new Map<number, { ref: number; bytes?: Uint8Array }>();
        ops.forEach(({ hash, bytes, withBytes }, ref) => {
          if (ref === clearAt) {
            t.clear();
            want.clear();
          }
          // Bytes at an offset inside a larger buffer, as in a request body.
          const buf = new Uint8Array(bytes.length + 3);
          buf.set(bytes, 3);
          if (withBytes) t.setBytes(hash, ref, buf, 3, buf.length);
          else t.set(hash, ref);
          want.set(hash, { ref, bytes: withBytes ? bytes : undefined });
        });
        expect(t.size).toBe(want.size);
        for (let hash = 0; hash <= 50; hash++) {
          const w = want.get(hash);
          expect(t.get(hash)).toBe(w?.ref);
          for (const { bytes } of ops.slice(0, 30)) {
            const same = w?.bytes !== undefined && Buffer.compare(Buffer.from(w.bytes), Buffer.from(bytes)) === 0;
            expect(t.getBytes(hash, bytes, 0, bytes.length)).toBe(same ? w.ref : undefined);
          }
          if (w?.bytes) expect(t.getBytes(hash, w.bytes, 0, w.bytes.length)).toBe(w.ref);
        }
        expect(t.arenaGarbage).toBeLessThanOrEqual(t.arenaUsed);
      }),
      { numRuns: 40 },
    );
  });
});
