/**
 * Strata evaluates a group at the instants Prometheus does: a real Prometheus 2.42 runs three
 * groups (different names and intervals) of a rule file, and every timestamp of the samples it
 * recorded is one of Strata's evaluation slots for the same group.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { Group } from '../src/group.js';
import { loadRuleFile } from '../src/rule-file.js';

jest.setTimeout(60_000);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

const noQueries = {
  instant: async () => ({ labels: [], values: new Float64Array(0) }),
  lastSamples: async () => [],
};
const noWrites = { write: async () => undefined };

test("group evaluation timestamps equal Prometheus'", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-evalts-'));
  const rules = path.join(dir, 'rules.yml');
  fs.writeFileSync(
    rules,
    [
      'groups:',
      ...[
        ['alpha', '1s'],
        ['beta-group', '2s'],
        ['γ', '3s'],
      ].flatMap(([name, interval], i) => [
        `  - name: ${name}`,
        `    interval: ${interval}`,
        '    rules:',
        `      - record: slot_${i}`,
        '        expr: vector(1)',
      ]),
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), `global:\n  evaluation_interval: 1s\nrule_files:\n  - ${rules}\n`);
  const port = await freePort();
  const prom = spawn(
    '/usr/bin/prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  try {
    const groups = loadRuleFile(rules).map(
      (spec) => new Group({ tenant: 't', spec, defaultIntervalMs: 60_000, queries: noQueries, writer: noWrites }),
    );
    // Wait until Prometheus has recorded a few evaluations of the slowest group.
    let timestamps: number[][] = [];
    for (let tries = 0; tries < 100; tries++) {
      await new Promise((r) => setTimeout(r, 300));
      try {
        timestamps = [];
        for (let i = 0; i < 3; i++) {
          const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=slot_${i}[1m]`);
          const j = (await r.json()) as { data: { result: { values: [number, string][] }[] } };
          timestamps.push((j.data.result[0]?.values ?? []).map(([t]) => Math.round(t * 1000)));
        }
        if (timestamps.every((ts) => ts.length >= 3)) break;
      } catch {
        // not up yet
      }
    }
    expect(timestamps.map((ts) => ts.length >= 3)).toEqual([true, true, true]);
    groups.forEach((g, i) => {
      for (const t of timestamps[i]) expect({ group: g.name, t: g.evalTimestamp(t + 0.5) }).toEqual({ group: g.name, t });
      // ...and not by accident: a slot is not every millisecond.
      expect(g.evalTimestamp(timestamps[i][0] - 1)).toBe(timestamps[i][0] - g.intervalMs);
    });
  } finally {
    prom.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
