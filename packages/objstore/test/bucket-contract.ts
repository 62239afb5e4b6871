/** The behaviour every Bucket must have; run against each implementation. */
import { Readable } from 'node:stream';
import type { Bucket } from '../src/index.js';

export function bucketContract(
  name: string,
  make: () => Promise<{ bucket: Bucket; cleanup: () => Promise<void> }>,
  opts: { pageSize: number },
): void {
  describe(`${name}: bucket contract`, () => {
    let bucket: Bucket;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ bucket, cleanup } = await make());
    });
    afterAll(async () => {
      await bucket.close();
      await cleanup();
    });

    test('put, get, exists, attributes, delete', async () => {
      await bucket.upload('a/b/obj', Buffer.from('hello world'));
      expect((await bucket.get('a/b/obj')).toString()).toBe('hello world');
      expect(await bucket.exists('a/b/obj')).toBe(true);
      expect(await bucket.exists('a/b/nope')).toBe(false);
      expect((await bucket.attributes('a/b/obj')).size).toBe(11);
      await bucket.delete('a/b/obj');
      expect(await bucket.exists('a/b/obj')).toBe(false);
    });

    test('not found is a typed error for get, range, attributes and delete', async () => {
      for (const f of [
        () => bucket.get('missing'),
        () => bucket.getRange('missing', 0, 1),
        () => bucket.attributes('missing'),
        () => bucket.delete('missing'),
      ]) {
        const err = await f().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(bucket.isObjNotFound(err)).toBe(true);
      }
    });

    test('ranged reads at the start, middle and end, and past the end', async () => {
      const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
      await bucket.upload('range', data);
      expect((await bucket.getRange('range', 0, 10)).equals(data.subarray(0, 10))).toBe(true);
      expect((await bucket.getRange('range', 500, 100)).equals(data.subarray(500, 600))).toBe(true);
      expect((await bucket.getRange('range', 990, 10)).equals(data.subarray(990))).toBe(true);
      // Past the end: what exists, then nothing.
      expect((await bucket.getRange('range', 995, 100)).equals(data.subarray(995))).toBe(true);
      expect((await bucket.getRange('range', 1000, 10)).length).toBe(0);
    });

    test('0-byte objects and streamed uploads', async () => {
      await bucket.upload('empty', Buffer.alloc(0));
      expect((await bucket.get('empty')).length).toBe(0);
      expect((await bucket.attributes('empty')).size).toBe(0);
      await bucket.upload('empty-stream', Readable.from([]));
      expect((await bucket.get('empty-stream')).length).toBe(0);
    });

    test('uploads of more than two multipart parts', async () => {
      const part = 5 * 1024 * 1024;
      const data = Buffer.alloc(part * 2 + 12345);
      for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff;
      await bucket.upload('big', Readable.from([data.subarray(0, 3_000_000), data.subarray(3_000_000)]));
      const got = await bucket.get('big');
      expect(got.length).toBe(data.length);
      expect(got.equals(data)).toBe(true);
    });

    test('listing with and without delimiter, and pagination', async () => {
      const names = Array.from({ length: opts.pageSize * 2 + 3 }, (_, i) => `list/dir${i % 3}/obj${String(i).padStart(4, '0')}`);
      await Promise.all(names.map((n) => bucket.upload(n, Buffer.from(n))));
      await bucket.upload('list/top', Buffer.from('x'));
      const top: string[] = [];
      for await (const n of bucket.iter('list/')) top.push(n);
      expect(top).toEqual(['list/dir0/', 'list/dir1/', 'list/dir2/', 'list/top']);
      const rec: string[] = [];
      for await (const n of bucket.iter('list/', { recursive: true })) rec.push(n);
      expect(rec).toEqual([...names, 'list/top'].sort());
      const partial: string[] = [];
      for await (const n of bucket.iter('list/dir1/obj000')) partial.push(n);
      expect(partial.every((n) => n.startsWith('list/dir1/obj000'))).toBe(true);
      expect(partial.length).toBeGreaterThan(0);
      // Folders whose objects all lie deeper still show one level down (tenants of a bucket of blocks).
      await bucket.upload('deep/a/b/c', Buffer.from('x'));
      const root: string[] = [];
      for await (const n of bucket.iter('')) root.push(n);
      expect(root).toEqual(expect.arrayContaining(['deep/', 'list/']));
      const deep: string[] = [];
      for await (const n of bucket.iter('deep/')) deep.push(n);
      expect(deep).toEqual(['deep/a/']);
    });

    test('concurrent readers see the same bytes', async () => {
      const data = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7) % 256));
      await bucket.upload('shared', data);
      const reads = await Promise.all(Array.from({ length: 20 }, (_, i) => bucket.getRange('shared', i * 1000, 5000)));
      reads.forEach((r, i) => expect(r.equals(data.subarray(i * 1000, i * 1000 + 5000))).toBe(true));
    });
  });
}
