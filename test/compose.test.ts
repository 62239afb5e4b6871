/**
 * compose/docker-compose.yml is the single source of the multi-node topology. Docker cannot
 * run here, so this test reads the file and runs its Strata services as local processes with
 * the same commands and configuration files: host names become 127.0.0.1 ports, the MinIO
 * service becomes a real S3-compatible server (s3rver), /etc/strata becomes a folder of rewritten
 * copies. A write through one receiver must be readable through the querier.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { startS3Server, type S3Server } from '../packages/objstore/test/s3-server.js';
import { freePort, getJson, REPO, startStrata, stop, tempDir, type Strata } from './harness.js';

jest.setTimeout(180_000);

interface Service {
  command?: string[];
  image?: string;
  build?: unknown;
}

test('the compose topology runs: write through receiver-1, read through the querier', async () => {
  const composeDir = path.join(REPO, 'compose');
  const doc = YAML.parse(fs.readFileSync(path.join(composeDir, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };
  const strataServices = Object.entries(doc.services).filter(([, s]) => s.image === 'strata:dev');
  expect(strataServices.map(([n]) => n).sort()).toEqual([
    'compactor',
    'querier',
    'receiver-1',
    'receiver-2',
    'receiver-3',
    'store-gateway-1',
    'store-gateway-2',
  ]);

  const s3: S3Server = await startS3Server('strata');
  const procs: Strata[] = [];
  try {
    const ports = new Map<string, number>();
    for (const [name] of strataServices) ports.set(name, await freePort());
    const etc = tempDir('compose-etc');
    // Host names and credentials of the compose network, mapped onto this machine.
    const rewrite = (text: string) => {
      let out = text
        .replace(/minio:9000/g, `127.0.0.1:${s3.port}`)
        .replace(/strata-access/g, 'S3RVER')
        .replace(/strata-secret-key/g, 'S3RVER')
        .replace(/\/etc\/strata\//g, `${etc}/`);
      for (const [name, port] of ports) out = out.replace(new RegExp(`\\b${name}:9009\\b`, 'g'), `127.0.0.1:${port}`);
      return out;
    };
    for (const f of ['strata.yml', 'hashrings.json', 'objstore.yml'])
      fs.writeFileSync(path.join(etc, f), rewrite(fs.readFileSync(path.join(composeDir, f), 'utf8')));
    const order = ['receiver', 'store-gateway', 'compactor', 'querier'];
    strataServices.sort(([a], [b]) => order.findIndex((o) => a.startsWith(o)) - order.findIndex((o) => b.startsWith(o)));
    for (const [name, svc] of strataServices) {
      const [component, ...args] = svc.command!.map(rewrite);
      const local = args
        .filter((a) => !a.startsWith('--http.address=') && !a.startsWith('--storage.path='))
        .concat(name.startsWith('store-gateway') ? ['--store-gateway.sync-interval=1s'] : []);
      procs.push(await startStrata({ component, port: ports.get(name), args: local }));
    }
    const t = Date.now();
    const body = snappyEncode(
      encodeWriteRequestV1([{ labels: Labels.fromObject({ __name__: 'compose_up', job: 'compose' }), timestamps: [t], values: [42] }]),
    );
    const w = await fetch(`http://127.0.0.1:${ports.get('receiver-1')}/api/v1/write`, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
    });
    expect(w.status).toBe(204);
    const r = await getJson(`http://127.0.0.1:${ports.get('querier')}/prometheus/api/v1/query?query=compose_up&time=${t / 1000}`);
    expect(r.data.result).toEqual([{ metric: { __name__: 'compose_up', job: 'compose' }, value: [t / 1000, '42'] }]);
    // Written to all three receivers (RF 3), de-duplicated at the querier.
    for (const n of ['receiver-1', 'receiver-2', 'receiver-3']) {
      const local = await getJson(`http://127.0.0.1:${ports.get(n)}/api/v1/series?match[]=compose_up`);
      expect(local.data.length).toBe(1);
    }
  } finally {
    for (const p of procs.reverse()) await stop(p);
    await s3.close();
  }
});
