/**
 * `strata dev-cluster`: a local multi-process cluster on 127.0.0.1, the topology of
 * compose/docker-compose.yml: 3 receivers (RF 3), 2 store gateways (RF 2), a compactor, a
 * querier, one local-folder bucket. Prints the write and query URLs; Ctrl-C stops everything cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { splitHostPort } from '@strata/api';

const RECEIVERS = 3;
const GATEWAYS = 2;

export async function runDevCluster(cfg: Config, bin: string): Promise<void> {
  const { port: base } = splitHostPort(cfg.str('http.address'));
  const root = path.resolve(cfg.str('storage.path'), 'cluster');
  fs.mkdirSync(root, { recursive: true });
  const objstore = path.join(root, 'bucket.yml');
  fs.writeFileSync(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${path.join(root, 'bucket')}\n`);
  const recvPorts = Array.from({ length: RECEIVERS }, (_, i) => base + 100 + i);
  const gwPorts = Array.from({ length: GATEWAYS }, (_, i) => base + 200 + i);
  const hashrings = path.join(root, 'hashrings.json');
  fs.writeFileSync(hashrings, JSON.stringify([{ hashring: 'default', endpoints: recvPorts.map((p) => `127.0.0.1:${p}`) }], null, 2));
  // The receivers sign the writes they forward to each other with this secret (new per start).
  const secret = path.join(root, 'forward-secret');
  fs.writeFileSync(secret, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const children: { name: string; proc: ChildProcess }[] = [];
  const start = (name: string, args: string[]) => {
    const proc = spawn(process.execPath, [bin, ...args, `--log.level=${cfg.str('log.level')}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    proc.on('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`dev-cluster: ${name} exited (${signal ?? code})\n`);
    });
    children.push({ name, proc });
  };
  let stopping = false;
  recvPorts.forEach((p, i) =>
    start(`receiver-${i + 1}`, [
      'receiver',
      `--http.address=127.0.0.1:${p}`,
      `--storage.path=${path.join(root, `receiver-${i + 1}`)}`,
      `--objstore.config-file=${objstore}`,
      `--receiver.hashrings-file=${hashrings}`,
      `--receiver.forward-secret-file=${secret}`,
      '--receiver.replication-factor=3',
      `--receiver.local-endpoint=127.0.0.1:${p}`,
      `--receiver.replica-name=receiver-${i + 1}`,
    ]),
  );
  gwPorts.forEach((p, i) =>
    start(`store-gateway-${i + 1}`, [
      'store-gateway',
      `--http.address=127.0.0.1:${p}`,
      `--storage.path=${path.join(root, `store-gateway-${i + 1}`)}`,
      `--objstore.config-file=${objstore}`,
      `--store-gateway.members=${gwPorts.map((_, k) => `store-gateway-${k + 1}`).join(',')}`,
      `--store-gateway.name=store-gateway-${i + 1}`,
      '--store-gateway.replication-factor=2',
    ]),
  );
  start('compactor', [
    'compactor',
    `--http.address=127.0.0.1:${base + 300}`,
    `--storage.path=${path.join(root, 'compactor')}`,
    `--objstore.config-file=${objstore}`,
    '--compactor.name=compactor-1',
  ]);
  start('querier', [
    'querier',
    `--http.address=127.0.0.1:${base}`,
    `--querier.stores=${[...recvPorts, ...gwPorts].map((p) => `http://127.0.0.1:${p}`).join(',')}`,
    '--query.replica-label=receive_replica',
  ]);
  process.stdout.write(
    [
      '',
      'Strata dev cluster: 3 receivers (RF 3), 2 store gateways (RF 2), a compactor, a querier, bucket in ' + path.join(root, 'bucket'),
      `  Prometheus remote_write:  ${recvPorts.map((p) => `http://127.0.0.1:${p}/api/v1/write`).join('  or  ')}`,
      `  Grafana data source URL:  http://127.0.0.1:${base}/prometheus`,
      '  Ctrl-C stops the cluster.',
      '',
    ].join('\n') + '\n',
  );
  await new Promise<void>((resolve) => {
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await Promise.all(
        children.map(
          ({ proc }) =>
            new Promise<void>((r) => {
              if (proc.exitCode !== null || proc.signalCode !== null) return r();
              proc.once('exit', () => r());
              proc.kill('SIGTERM');
            }),
        ),
      );
      resolve();
    };
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
  });
}
