/** Operation metrics for any bucket: counts, failures, latency and bytes, by operation. */
import type { Readable } from 'node:stream';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Bucket, IterOptions, ObjectAttributes } from './bucket.js';

export function instrumentBucket(inner: Bucket, registry: Registry): Bucket {
  const get = <T extends Counter<string> | Histogram<string>>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  const ops = get(
    'strata_objstore_operations_total',
    () =>
      new Counter({
        name: 'strata_objstore_operations_total',
        help: 'Object storage operations.',
        labelNames: ['bucket', 'operation'],
        registers: [registry],
      }),
  );
  const fails = get(
    'strata_objstore_operation_failures_total',
    () =>
      new Counter({
        name: 'strata_objstore_operation_failures_total',
        help: 'Object storage operations that failed (not-found excluded).',
        labelNames: ['bucket', 'operation'],
        registers: [registry],
      }),
  );
  const dur = get(
    'strata_objstore_operation_duration_seconds',
    () =>
      new Histogram({
        name: 'strata_objstore_operation_duration_seconds',
        help: 'Object storage operation latency.',
        labelNames: ['bucket', 'operation'],
        buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [registry],
      }),
  );
  const bytes = get(
    'strata_objstore_bytes_total',
    () =>
      new Counter({
        name: 'strata_objstore_bytes_total',
        help: 'Bytes read from and written to object storage.',
        labelNames: ['bucket', 'operation'],
        registers: [registry],
      }),
  );
  const b = inner.name;
  async function run<T>(operation: string, fn: () => Promise<T>, size?: (r: T) => number): Promise<T> {
    ops.inc({ bucket: b, operation });
    const end = dur.startTimer({ bucket: b, operation });
    try {
      const r = await fn();
      if (size) bytes.inc({ bucket: b, operation }, size(r));
      return r;
    } catch (e) {
      if (!inner.isObjNotFound(e)) fails.inc({ bucket: b, operation });
      throw e;
    } finally {
      end();
    }
  }
  return {
    name: inner.name,
    get: (n) =>
      run(
        'get',
        () => inner.get(n),
        (r) => r.length,
      ),
    getRange: (n, o, l) =>
      run(
        'get_range',
        () => inner.getRange(n, o, l),
        (r) => r.length,
      ),
    upload: (n, body: Buffer | Readable) =>
      run('upload', () => inner.upload(n, body)).then(() => {
        if (Buffer.isBuffer(body)) bytes.inc({ bucket: b, operation: 'upload' }, body.length);
      }),
    iter: (prefix: string, opts?: IterOptions) => {
      ops.inc({ bucket: b, operation: 'iter' });
      return inner.iter(prefix, opts);
    },
    exists: (n) => run('exists', () => inner.exists(n)),
    attributes: (n): Promise<ObjectAttributes> => run('attributes', () => inner.attributes(n)),
    delete: (n) => run('delete', () => inner.delete(n)),
    isObjNotFound: (e) => inner.isObjNotFound(e),
    close: () => inner.close(),
  };
}
