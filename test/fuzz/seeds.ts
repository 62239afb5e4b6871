/**
 * `node --import tsx test/fuzz/seeds.ts`: writes the hand-made seed corpora (small valid inputs
 * from Strata's own encoders) that the fuzzer starts from. Run again after a format change; the
 * fuzzer's own finds are added with `npm run fuzz -- --save-corpus`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Labels, Matcher } from '@strata/model';
import {
  decodeWriteRequestV1,
  decodeWriteRequestV2,
  encodeChunkedFrame,
  encodeShare,
  encodeReadRequest,
  encodeReadResponse,
  encodeWriteRequestV1,
  encodeWriteRequestV2,
  snappyEncode,
} from '@strata/remote';
import os from 'node:os';
import { buildIndexHeader, encodeIndexHeader, FileByteSource, Head, TSDB, writeBlock, XOREncoder } from '@strata/tsdb';
import { writeSnapshot } from '../../packages/tsdb/src/head/snapshot.js';
import { otlpJsonToProto } from '../../packages/remote/test/otlp-fixtures.js';
import { OTLP_SEED_DOC } from '../../packages/remote/test/otlp-seed-doc.js';

import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonLogsSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
function write(corpus: string, name: string, data: Buffer | string): void {
  const dir = path.join(root, corpus);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), data);
}

const L = (o: Record<string, string>) => Labels.fromObject(o);
const series = [
  { labels: L({ __name__: 'up', job: 'node', instance: 'a:9100' }), timestamps: [1_700_000_000_000, 1_700_000_015_000], values: [1, 0] },
  { labels: L({ __name__: 'http_requests_total', code: '200', path: '/ünïcode' }), timestamps: [-5], values: [NaN] },
];
const v1 = encodeWriteRequestV1(series, [{ metricFamilyName: 'up', type: 'gauge', help: 'whether the target is up', unit: '' }]);
const v2 = encodeWriteRequestV2(
  series.map((s, i) => ({ ...s, metadata: i === 0 ? { type: 'counter', help: 'h', unit: 'seconds' } : undefined })),
);
write('packages/remote/fuzz/corpus/remote-write-v1', 'two-series-metadata', v1);
write('packages/remote/fuzz/corpus/remote-write-v1', 'empty', Buffer.alloc(0));
write('packages/remote/fuzz/corpus/otlp-metrics-proto', 'every-kind', otlpJsonToProto(OTLP_SEED_DOC));
write('packages/remote/fuzz/corpus/otlp-metrics-json', 'every-kind', JSON.stringify(OTLP_SEED_DOC));
write('packages/remote/fuzz/corpus/remote-write-v2', 'two-series-metadata', v2);
{
  // OTLP logs as the OpenTelemetry SDK serializes them: a map body, attributes of each kind, both severities.
  const exporter = new InMemoryLogRecordExporter();
  const logs = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'host.name': 'n1' }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = logs.getLogger('seed', '1.0');
  logger.emit({
    timestamp: [1_700_000_000, 5],
    severityNumber: 17,
    severityText: 'ERROR',
    body: 'payment failed',
    attributes: { code: 500, ok: false },
  });
  logger.emit({ timestamp: [1_700_000_001, 0], body: { order: 42, items: ['a', 'b'] }, attributes: { 'user.id': 'ü' } });
  const records = exporter.getFinishedLogRecords();
  write(
    'packages/remote/fuzz/corpus/otlp-logs-proto',
    'sdk-two-records',
    Buffer.from(ProtobufLogsSerializer.serializeRequest(records as never)!),
  );
  write(
    'packages/remote/fuzz/corpus/otlp-logs-json',
    'sdk-two-records',
    Buffer.from(JsonLogsSerializer.serializeRequest(records as never)!),
  );
}
write('packages/remote/fuzz/corpus/snappy', 'write-v1', snappyEncode(v1));
const v1Batch = decodeWriteRequestV1(v1);
write('packages/remote/fuzz/corpus/forwarded-share', 'v1-two-series-metadata', encodeShare(v1Batch, [0, 1], v1Batch.metadata, false));
write('packages/remote/fuzz/corpus/forwarded-share', 'v1-second-series', encodeShare(v1Batch, [1], [], false));
write('packages/remote/fuzz/corpus/forwarded-share', 'v2-series-metadata', encodeShare(decodeWriteRequestV2(v2), [0, 1], [], true));
// Exemplars travel in a section of their own after the metadata (flag bit 2).
const withExemplars = decodeWriteRequestV1(v1);
withExemplars.series[0].exemplars = 1;
withExemplars.series[0].exemplarList = [{ labels: ['trace_id', 'abc'], value: 0.5, timestamp: 1_700_000_000_000 }];
write('packages/remote/fuzz/corpus/forwarded-share', 'v1-exemplars', encodeShare(withExemplars, [0, 1], [], false));
write('packages/remote/fuzz/corpus/snappy', 'repetitive', snappyEncode(Buffer.from('abcabcabcabc'.repeat(40))));
write('packages/remote/fuzz/corpus/snappy', 'empty', snappyEncode(Buffer.alloc(0)));
const req = encodeReadRequest({
  queries: [
    {
      startMs: 0,
      endMs: 3_600_000,
      matchers: [new Matcher('=', '__name__', 'up'), new Matcher('=~', 'job', 'no.*|api'), new Matcher('!~', 'x', '')],
      hints: { stepMs: 15000, func: 'rate', startMs: 0, endMs: 3_600_000, grouping: ['job'], by: true, rangeMs: 300_000 },
    },
    { startMs: -1, endMs: 1, matchers: [new Matcher('!=', 'a', 'b')] },
  ],
  acceptedResponseTypes: [1, 0],
});
write('packages/remote/fuzz/corpus/remote-read-request', 'two-queries', req);
const enc = new XOREncoder();
for (let i = 0; i < 20; i++) enc.append(1_000 + i * 15_000 + (i % 3), i * 1.5);
const chunk = enc.bytes().slice();
write(
  'packages/remote/fuzz/corpus/remote-read-response',
  'samples',
  Buffer.concat([
    Buffer.from([0]),
    encodeReadResponse([
      [{ labels: series[0].labels, timestamps: Float64Array.from([1, 2, 3]), values: Float64Array.from([1, NaN, -0]) }],
      [],
    ]),
  ]),
);
write(
  'packages/remote/fuzz/corpus/remote-read-response',
  'chunked',
  Buffer.concat([
    Buffer.from([1]),
    encodeChunkedFrame(0, [{ labels: series[0].labels, chunks: [{ minT: 1_000, maxT: 286_000, data: chunk }] }]),
    encodeChunkedFrame(1, [{ labels: series[1].labels, chunks: [] }]),
  ]),
);

const queries = [
  'up',
  'sum by (job) (rate(http_requests_total{code=~"5..",path!="/"}[5m] offset 1h))',
  'histogram_quantile(0.99, sum without (instance) (rate(x_bucket[1m:30s] @ 1700000000)))',
  'a + on (job) group_left (x) b * 2 ^ -3 % 4 > bool 1 unless c or d and e',
  'topk(3, count_values("v", {__name__=~"foo.*"})) / ignoring(a) scalar(time())',
  'label_replace(up, "dst", "$1", "src", "(.*)")',
  '{"some.utf8.name", "x"="y"}[1h] @ start()',
  '-(1.5e3 + 0x1F) - Inf + NaN # comment',
  'max_over_time(deriv(rate(x[5m])[30m:1m])[1h:])',
  'sort_desc(absent(nonexistent{job="x"}) == 1)',
];
queries.forEach((q, i) => write('packages/promql/fuzz/corpus/promql-parser', `q${String(i).padStart(2, '0')}`, q));

write(
  'packages/ring/fuzz/corpus/hashrings',
  'one',
  JSON.stringify([{ hashring: 'default', endpoints: ['a:10901', 'b:10901', 'c:10901'] }]),
);
write(
  'packages/ring/fuzz/corpus/hashrings',
  'full',
  JSON.stringify(
    [
      {
        hashring: 'team-a',
        tenants: ['a', 'b*'],
        tenant_matcher_type: 'glob',
        algorithm: 'hashmod',
        endpoints: [
          { address: 'r1:19291', az: 'z1' },
          { address: 'r2:19291', az: 'z2' },
        ],
      },
      { hashring: 'rest', algorithm: 'ketama', endpoints: ['r3:19291'] },
    ],
    null,
    2,
  ),
);

// The TSDB's on-disk formats. A leading byte 0/1 is the targets' "recompute checksums" switch.
const both = (corpus: string, name: string, data: Buffer) => {
  write(corpus, `${name}-as-is`, Buffer.concat([Buffer.from([0]), data]));
  write(corpus, `${name}-fix-crc`, Buffer.concat([Buffer.from([1]), data]));
};
write('packages/tsdb/fuzz/corpus/xor-chunk', 'twenty', Buffer.from(chunk));
const odd = new XOREncoder();
[0, -0, NaN, Infinity, -1e300, 5e-324, 1, 1, 1, 2 ** 53].forEach((v, i) => odd.append(-1_000_000 + i * i * 1_000_003, v));
write('packages/tsdb/fuzz/corpus/xor-chunk', 'odd-values', Buffer.from(odd.bytes()));
const one = new XOREncoder();
one.append(0, 0);
write('packages/tsdb/fuzz/corpus/xor-chunk', 'one', Buffer.from(one.bytes()));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-seeds-'));
try {
  const meta = await writeBlock(
    tmp,
    [
      { labels: L({ __name__: 'up', job: 'a' }), chunks: [{ minT: 1_000, maxT: 286_000, data: chunk }] },
      {
        labels: L({ __name__: 'up', job: 'b' }),
        chunks: [
          { minT: 1_000, maxT: 286_000, data: chunk },
          { minT: 300_000, maxT: 300_000, data: one.bytes().slice() },
        ],
      },
      { labels: L({ __name__: 'x', le: '+Inf' }), chunks: [{ minT: -1_000_000, maxT: 80_000_000, data: odd.bytes().slice() }] },
    ],
    { minTime: -1_000_000, maxTime: 100_000_000 },
  );
  const index = path.join(tmp, meta.ulid, 'index');
  both('packages/tsdb/fuzz/corpus/index', 'three-series', fs.readFileSync(index));
  both('packages/tsdb/fuzz/corpus/index-header', 'three-series', encodeIndexHeader(await buildIndexHeader(new FileByteSource(index))));

  const db = await TSDB.open({
    dir: path.join(tmp, 'db'),
    fsync: 'none',
    head: { outOfOrderWindowMs: 600_000, samplesPerChunk: 120, maxSeries: 0 },
  });
  const t = await db.tenant('t');
  const app = t.appender();
  for (const [i, s] of series.entries()) {
    const ref = app.ref(s.labels);
    for (let k = 0; k < 5; k++) app.append(ref, 1_000_000 + k * 15_000 - i * 400_000, k * 1.25);
  }
  await app.commit();
  const head = new Head({ outOfOrderWindowMs: 600_000, samplesPerChunk: 120, maxSeries: 0 });
  for (const s of series) {
    const ms = head.getOrCreate(s.labels)!.series;
    for (let k = 0; k < 5; k++) head.apply(ms, 1_000 + k * 1000, 0, k);
    head.apply(ms, 500, 0, 7);
  }
  const snapshot = path.join(tmp, 'snapshot');
  await writeSnapshot(snapshot, head, { segment: 0, offset: 0 });
  both('packages/tsdb/fuzz/corpus/snapshot', 'two-series', fs.readFileSync(snapshot));
  await t.wal.close();
  both('packages/tsdb/fuzz/corpus/wal', 'two-series', fs.readFileSync(path.join(tmp, 'db', 'tenants', 't', 'wal', '00000000')));
  // Exemplars: a WAL with the exemplar record after its samples, and a snapshot with the exemplar section.
  const exDb = await TSDB.open({
    dir: path.join(tmp, 'exdb'),
    fsync: 'none',
    head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 },
  });
  const exTenant = await exDb.tenant('t');
  exTenant.exemplars.resize(8);
  const exApp = exTenant.appender();
  for (const [i, s] of series.entries()) {
    const ref = exApp.ref(s.labels);
    exApp.append(ref, 1_000_000 + i, i);
    exApp.appendExemplar(ref, { labels: ['span_id', `s${i}`, 'trace_id', `t${i}`], value: i + 0.5, timestamp: 1_000_000 - i * 7 });
  }
  await exApp.commit();
  await writeSnapshot(path.join(tmp, 'exsnapshot'), exTenant.head, { segment: 0, offset: 0 });
  both('packages/tsdb/fuzz/corpus/snapshot', 'with-exemplars', fs.readFileSync(path.join(tmp, 'exsnapshot')));
  await exTenant.wal.close();
  both('packages/tsdb/fuzz/corpus/wal', 'with-exemplars', fs.readFileSync(path.join(tmp, 'exdb', 'tenants', 't', 'wal', '00000000')));
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.stdout.write('seed corpora written\n');
