/** `strata dev-cluster`: starts the whole topology, a write through a receiver is readable through the querier, Ctrl-C stops everything. */
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { freePort, getJson, startProcess, STRATA_BIN, tempDir, waitFor } from './harness.js';

jest.setTimeout(120_000);

test('dev-cluster: write through a receiver, read through the querier, SIGINT stops it', async () => {
  const base = await freePort();
  const data = tempDir('devcluster');
  const p = startProcess(process.execPath, [
    STRATA_BIN,
    'dev-cluster',
    `--http.address=127.0.0.1:${base}`,
    `--storage.path=${data}`,
    '--log.level=warn',
  ]);
  try {
    await waitFor(
      'cluster ready',
      async () => {
        const urls = [base, base + 100, base + 101, base + 102, base + 200, base + 201, base + 300].map(
          (port) => `http://127.0.0.1:${port}/-/ready`,
        );
        const codes = await Promise.all(
          urls.map((u) =>
            fetch(u).then(
              (r) => r.status,
              () => 0,
            ),
          ),
        );
        return codes.every((c) => c === 200);
      },
      60_000,
    );
    expect(p.output()).toContain(`Grafana data source URL:  http://127.0.0.1:${base}/prometheus`);
    const t = Date.now();
    const body = snappyEncode(
      encodeWriteRequestV1([{ labels: Labels.fromObject({ __name__: 'cluster_up', job: 'x' }), timestamps: [t], values: [1] }]),
    );
    const w = await fetch(`http://127.0.0.1:${base + 101}/api/v1/write`, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
    });
    expect(w.status).toBe(204);
    const r = await getJson(`http://127.0.0.1:${base}/api/v1/query?query=cluster_up&time=${t / 1000}`);
    expect(r.data.result).toEqual([{ metric: { __name__: 'cluster_up', job: 'x' }, value: [t / 1000, '1'] }]);
  } finally {
    p.child.kill('SIGINT');
    const exit = await p.exited;
    expect(exit.code).toBe(0);
  }
});
