/**
 * strata all cuts 2-hour-style blocks (30 min here) from the head and ships them to its
 * local-folder bucket; with --receiver.flush-on-shutdown a SIGTERM ships the rest. promtool then
 * dumps exactly the ingested samples from the bucket.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { getJson, startStrata, stop, waitFor } from './harness.js';

jest.setTimeout(180_000);

test('blocks reach the bucket while ingesting and on shutdown; promtool reads exactly the samples', async () => {
  const strata = await startStrata({
    args: [
      '--tsdb.block-duration=30m',
      '--tsdb.compaction-interval=1s',
      '--receiver.flush-on-shutdown',
      '--receiver.replica-name=r-test',
      '--receiver.out-of-order-window=0s',
    ],
  });
  const bucketDir = path.join(strata.dataDir, 'bucket', 'anonymous');
  const step = 30_000;
  const end = Math.floor(Date.now() / step) * step;
  const start = end - 2 * 3600_000;
  const expected: string[] = [];
  try {
    for (let t = start; t <= end; t += step * 20) {
      const series = [];
      for (const job of ['a', 'b']) {
        const labels = Labels.fromObject({ __name__: 'e2e_blocks_total', job });
        const ts: number[] = [];
        const vs: number[] = [];
        for (let k = 0; k < 20 && t + k * step <= end; k++) {
          ts.push(t + k * step);
          vs.push((t + k * step - start) / step);
          expected.push(`{__name__="e2e_blocks_total", job="${job}"} ${(t + k * step - start) / step} ${t + k * step}`);
        }
        series.push({ labels, timestamps: ts, values: vs });
      }
      const r = await fetch(`${strata.url}/api/v1/write`, {
        method: 'POST',
        body: snappyEncode(encodeWriteRequestV1(series)),
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
      });
      expect(r.status).toBe(204);
    }
    // Complete 30 min ranges are cut and shipped while Strata runs.
    await waitFor(
      'blocks in the bucket',
      async () => fs.existsSync(bucketDir) && fs.readdirSync(bucketDir).some((d) => fs.existsSync(path.join(bucketDir, d, 'meta.json'))),
      30_000,
    );
    const metaDir = fs.readdirSync(bucketDir).find((d) => fs.existsSync(path.join(bucketDir, d, 'meta.json')))!;
    const meta = JSON.parse(fs.readFileSync(path.join(bucketDir, metaDir, 'meta.json'), 'utf8'));
    expect(meta.thanos.labels).toEqual({ tenant_id: 'anonymous', receive_replica: 'r-test' });
    // Everything stays queryable: head and local blocks together.
    const q = await getJson(
      `${strata.url}/api/v1/query?query=${encodeURIComponent('count_over_time(e2e_blocks_total[3h])')}&time=${end / 1000}`,
    );
    expect(q.data.result.map((x: { value: [number, string] }) => x.value[1])).toEqual([
      String(expected.length / 2),
      String(expected.length / 2),
    ]);
    const metrics = await (await fetch(`${strata.url}/metrics`)).text();
    expect(metrics).toMatch(/strata_shipper_uploaded_blocks_total\{tenant="anonymous"\} [1-9]/);
  } finally {
    await stop(strata); // SIGTERM: flush the head and ship it
  }
  fs.mkdirSync(path.join(bucketDir, 'wal'), { recursive: true }); // promtool opens the folder as a TSDB
  const dump = execFileSync('/usr/bin/promtool', ['tsdb', 'dump', bucketDir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const got = dump
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{__name__="e2e_blocks_total"'));
  expect(got.sort()).toEqual(expected.sort());
});
