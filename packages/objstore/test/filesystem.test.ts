import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bucketFromConfig, FilesystemBucket } from '../src/index.js';
import { bucketContract } from './bucket-contract.js';

bucketContract(
  'filesystem',
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-fsbucket-'));
    return { bucket: new FilesystemBucket(dir), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  },
  { pageSize: 5 },
);

test('object names cannot escape the directory', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-fsbucket-'));
  const b = new FilesystemBucket(dir);
  await expect(b.upload('../escape', Buffer.from('x'))).rejects.toThrow(/escapes the bucket directory/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('Thanos objstore YAML: FILESYSTEM, S3, prefix, and clear errors', () => {
  expect(bucketFromConfig('type: FILESYSTEM\nconfig:\n  directory: /tmp/x\n')).toBeInstanceOf(FilesystemBucket);
  expect(
    bucketFromConfig('type: S3\nconfig:\n  bucket: b\n  endpoint: 127.0.0.1:9000\n  insecure: true\n  access_key: a\n  secret_key: s\n')
      .name,
  ).toBe('b');
  expect(bucketFromConfig('type: FILESYSTEM\nprefix: tenant-a\nconfig:\n  directory: /tmp/x\n').name).toMatch(/tenant-a\/$/);
  expect(() => bucketFromConfig('type: GCS\nconfig: {}\n')).toThrow('unsupported type "GCS" (supported: FILESYSTEM, S3)');
  expect(() => bucketFromConfig('type: S3\nconfig: {}\n')).toThrow('S3 needs config.bucket');
});

/** This process's open file descriptors. */
const openFds = () => fs.readdirSync('/proc/self/fd').length;

test('ranged reads in flight share a handle: right bytes, none left open, and a replaced object is read anew', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-fsbucket-'));
  try {
    const b = new FilesystemBucket(dir);
    const v1 = Buffer.from(Array.from({ length: 32 * 1024 }, (_, i) => (i * 13) % 251));
    const v2 = Buffer.from(v1.map((x) => 255 - x));
    await b.upload('seg', v1);
    const before = openFds();
    const reads = Array.from({ length: 50 }, (_, i) => b.getRange('seg', i * 600, 700));
    // Replaced while the reads above are in flight: a read started after the upload sees the new object.
    const replaced = b.upload('seg', v2).then(() => b.getRange('seg', 100, 300));
    (await Promise.all(reads)).forEach((r, i) => expect(r.equals(v1.subarray(i * 600, i * 600 + 700))).toBe(true));
    expect((await replaced).equals(v2.subarray(100, 400))).toBe(true);
    expect(openFds()).toBe(before);
    // A missing object stays a typed not-found error for every read in flight, and does not stick once it exists.
    const missing = await Promise.allSettled([b.getRange('later', 0, 4), b.getRange('later', 4, 4)]);
    expect(missing.map((m) => m.status === 'rejected' && b.isObjNotFound(m.reason))).toEqual([true, true]);
    await b.upload('later', Buffer.from('abcdefgh'));
    expect((await b.getRange('later', 2, 3)).toString()).toBe('cde');
    expect(openFds()).toBe(before);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
