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
