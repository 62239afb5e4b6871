/** The objstore config file the bucket e2e tests hand to every process: a local folder under root, or a bucket of the test's s3rver. */
import fs from 'node:fs';
import path from 'node:path';

export function writeObjstoreConfig(root: string, s3?: { port: number; bucket: string }): string {
  const file = path.join(root, 'objstore.yml');
  fs.writeFileSync(
    file,
    s3
      ? `type: S3\nconfig:\n  bucket: ${s3.bucket}\n  endpoint: 127.0.0.1:${s3.port}\n  insecure: true\n  access_key: S3RVER\n  secret_key: S3RVER\n`
      : `type: FILESYSTEM\nconfig:\n  directory: ${path.join(root, 'bucket')}\n`,
  );
  return file;
}
