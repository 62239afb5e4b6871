/** The contract against a real S3-compatible server (s3rver) on loopback, plus retries. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { instrumentBucket } from '../src/index.js';
import { S3Bucket } from '../src/s3.js';
import { bucketContract } from './bucket-contract.js';
import { startS3Server as startS3 } from './s3-server.js';

jest.setTimeout(60_000);

const s3 = (port: number, extra: Partial<ConstructorParameters<typeof S3Bucket>[0]> = {}) =>
  new S3Bucket({
    bucket: 'strata',
    endpoint: `127.0.0.1:${port}`,
    insecure: true,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    region: 'us-east-1',
    partSize: 5 * 1024 * 1024,
    listPageSize: 5,
    ...extra,
  });

bucketContract(
  's3 (s3rver)',
  async () => {
    const server = await startS3('strata');
    return { bucket: s3(server.port), cleanup: () => server.close() };
  },
  { pageSize: 5 },
);

test('throttling (503 SlowDown) and 5xx are retried until the operation succeeds; metrics count it', async () => {
  const server = await startS3('strata');
  let refuse = 3;
  // A proxy in front of the real server that answers the first requests like an overloaded S3.
  const proxy = http.createServer((req, res) => {
    if (refuse-- > 0) {
      res.writeHead(503, { 'Content-Type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
      );
      req.resume();
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: server.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const registry = new Registry();
  const b = instrumentBucket(s3((proxy.address() as AddressInfo).port), registry);
  try {
    await b.upload('retried', Buffer.from('made it'));
    expect((await b.get('retried')).toString()).toBe('made it');
    expect(refuse).toBeLessThan(0);
    const m = await registry.getSingleMetricAsString('strata_objstore_operations_total');
    expect(m).toMatch(/operation="upload"\} 1/);
  } finally {
    await b.close();
    proxy.close();
    await server.close();
  }
});
