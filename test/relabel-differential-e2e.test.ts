/**
 * Relabelling against the real Prometheus: Debian's Prometheus scrapes a target of chosen series
 * and remote-writes them to a capture server through one remote_write queue per rule set, each
 * with those rules as write_relabel_configs (plus one queue without rules: the input). Strata's
 * relabel() applied to the input must give exactly the series Prometheus sent for each rule set.
 * Rules stay within what Prometheus 2.42 (the packaged version) shares with Prometheus 3: label
 * names produced by rules are legacy names.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import YAML from 'yaml';
import { parseRelabelConfigs, relabel } from '@strata/model';
import { decodeWriteRequestV1, snappyDecode } from '@strata/remote';
import { freePort, startProcess, stop, tempDir, waitFor, type Proc } from './harness.js';

const PROMETHEUS = '/usr/bin/prometheus';
jest.setTimeout(120_000);

const EXPOSITION = [
  'http_requests_total{job="api",instance="a:9090",code="200",path="/Users/42",user_id="1",meta_zone="eu"} 1',
  'http_requests_total{job="api",instance="a:9090",code="500",path="/Users/43",user_id="2",meta_zone="us"} 2',
  'http_requests_total{job="api",instance="b:9091",code="503",path="/Straße/Äpfel",user_id="31",meta_zone="eu"} 3',
  'other_metric{job="db",instance="c:1",a="x",b="x"} 4',
  'other_metric{job="db",instance="c:1",a="x",b="y"} 5',
  'other_metric{job="db",instance="c:1",a="db",b="c:1",ji="db;c:1"} 6',
  '',
].join('\n');

const RULE_SETS: Record<string, unknown[]> = {
  replace_groups: [{ source_labels: ['instance'], regex: '(.*):(\\d+)', target_label: 'port', replacement: '${2}_$1' }],
  replace_defaults: [{ source_labels: ['job', 'code'], target_label: 'joined' }],
  replace_missing_source_deletes: [{ source_labels: ['absent'], target_label: 'user_id' }],
  replace_expansion: [{ source_labels: ['code'], regex: '(\\d)(\\d*)', target_label: 'x', replacement: '$$1-${1}x-$1x-$2' }],
  replace_target_from_group: [{ source_labels: ['meta_zone'], regex: '(e|u)(.)', target_label: 'zone_$1', replacement: '$2' }],
  replace_named_group: [{ source_labels: ['instance'], regex: '(?P<host>[^:]+):.*', target_label: 'host', replacement: '$host' }],
  replace_no_match: [{ source_labels: ['code'], regex: '2', target_label: 'two', replacement: 'yes' }],
  drop: [{ source_labels: ['__name__', 'code'], regex: 'http_requests_total;5..', action: 'drop' }],
  keep: [{ source_labels: ['__name__'], regex: 'http_.*|up', action: 'keep' }],
  keepequal: [{ source_labels: ['a'], target_label: 'b', action: 'keepequal' }],
  dropequal: [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }],
  dropequal_joined: [{ source_labels: ['job', 'instance'], target_label: 'ji', action: 'dropequal' }],
  hashmod: [{ source_labels: ['user_id', 'instance'], modulus: 7, target_label: 'shard', action: 'hashmod' }],
  labelmap: [{ regex: 'meta_(.+)', replacement: 'm_$1', action: 'labelmap' }],
  labeldrop: [{ regex: 'user_id|meta_.*', action: 'labeldrop' }],
  labelkeep: [{ regex: '__name__|job|instance|code', action: 'labelkeep' }],
  lowercase: [{ source_labels: ['path'], target_label: 'path', action: 'lowercase' }],
  uppercase: [{ source_labels: ['path', 'job'], separator: '|', target_label: 'up_path', action: 'uppercase' }],
  chain: [
    { source_labels: ['user_id'], regex: '(\\d)\\d*', target_label: 'user_bucket', replacement: '${1}x' },
    { regex: 'user_id', action: 'labeldrop' },
    { source_labels: ['user_bucket'], regex: '3x', action: 'drop' },
    { source_labels: ['instance'], modulus: 2, target_label: '__tmp_s', action: 'hashmod' },
    { source_labels: ['__tmp_s'], regex: '0', target_label: 'even', replacement: 'true' },
    { regex: '__tmp_.*', action: 'labeldrop' },
  ],
};

/** Per rule set (and '' for the input): scrape timestamp -> the label sets sent with it. */
const captured = new Map<string, Map<number, Set<string>>>();
const key = (pairs: readonly string[]) => {
  const o: [string, string][] = [];
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i + 1] !== '') o.push([pairs[i], pairs[i + 1]]);
  return JSON.stringify(o.sort((a, b) => (a[0] < b[0] ? -1 : 1)));
};

let target: http.Server;
let capture: http.Server;
let prom: Proc;

beforeAll(async () => {
  expect(fs.existsSync(PROMETHEUS)).toBe(true); // .ci/run installs Debian's prometheus
  target = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(EXPOSITION);
  });
  capture = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const name = decodeURIComponent((req.url ?? '').replace(/^\/write\/?/, ''));
      const batch = decodeWriteRequestV1(snappyDecode(Buffer.concat(chunks), 64 << 20));
      let byTime = captured.get(name);
      if (!byTime) captured.set(name, (byTime = new Map()));
      for (const s of batch.series) {
        for (let i = s.sampleStart; i < s.sampleEnd; i++) {
          const t = batch.timestamps[i];
          let set = byTime.get(t);
          if (!set) byTime.set(t, (set = new Set()));
          set.add(key(batch.labelsOf(s)));
        }
      }
      res.writeHead(204).end();
    });
  });
  await Promise.all([target, capture].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  const port = (s: http.Server) => (s.address() as AddressInfo).port;
  const dir = tempDir('prom-relabel');
  const queue = { max_shards: 1, min_shards: 1, batch_send_deadline: '200ms', min_backoff: '50ms', max_backoff: '200ms' };
  const writeTo = (name: string, rules?: unknown[]) => ({
    url: `http://127.0.0.1:${port(capture)}/write/${encodeURIComponent(name)}`,
    name: name || 'input',
    queue_config: queue,
    metadata_config: { send: false },
    ...(rules ? { write_relabel_configs: rules } : {}),
  });
  const cfg = {
    global: { scrape_interval: '1s' },
    scrape_configs: [{ job_name: 'target', honor_labels: true, static_configs: [{ targets: [`127.0.0.1:${port(target)}`] }] }],
    remote_write: [writeTo(''), ...Object.entries(RULE_SETS).map(([n, r]) => writeTo(n, r))],
  };
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), YAML.stringify(cfg));
  const promPort = await freePort();
  prom = startProcess(PROMETHEUS, [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--log.level=warn',
  ]);
});

afterAll(async () => {
  if (prom) await stop(prom);
  await Promise.all([target, capture].map((s) => new Promise((r) => s?.close(r))));
});

test("Strata's relabel() gives exactly the series Prometheus' write_relabel_configs send, for every rule set", async () => {
  // A scrape that every queue has sent in full: the input's second scrape, once each queue with
  // anything to send has sent a later one (one shard per queue sends in order).
  const expected = new Map<string, Set<string>>();
  let at = 0;
  await waitFor(
    'every queue to send a complete scrape',
    async () => {
      if (prom.child.exitCode !== null) throw new Error('prometheus exited');
      const input = captured.get('');
      const times = [...(input?.keys() ?? [])].sort((a, b) => a - b);
      if (times.length < 3) return false;
      at = times[1];
      for (const [name, rules] of Object.entries(RULE_SETS)) {
        const parsed = parseRelabelConfigs(rules);
        const want = new Set<string>();
        for (const k of input!.get(at)!) {
          const pairs = (JSON.parse(k) as [string, string][]).flat();
          const out = relabel(pairs, parsed);
          if (out !== null) want.add(key(out));
        }
        expected.set(name, want);
        const sent = [...(captured.get(name)?.keys() ?? [])];
        if (want.size > 0 && !sent.some((t) => t > at)) return false;
      }
      return true;
    },
    60_000,
  ).catch((e) => {
    throw new Error(`${(e as Error).message}\n--- prometheus ---\n${prom.output().slice(-3000)}`);
  });
  expect(captured.get('')!.get(at)!.size).toBeGreaterThan(6); // the target's series and Prometheus' own (up, scrape_*)
  const mismatches: string[] = [];
  for (const name of Object.keys(RULE_SETS)) {
    const got = captured.get(name)?.get(at) ?? new Set<string>();
    const want = expected.get(name)!;
    const onlyProm = [...got].filter((k) => !want.has(k));
    const onlyStrata = [...want].filter((k) => !got.has(k));
    if (onlyProm.length + onlyStrata.length > 0)
      mismatches.push(`${name}: only Prometheus ${onlyProm.join(' ')} only Strata ${onlyStrata.join(' ')}`);
  }
  expect(mismatches).toEqual([]);
  // The rule sets did something: most change or drop series.
  const changed = Object.keys(RULE_SETS).filter((n) => {
    const got = captured.get(n)?.get(at) ?? new Set<string>();
    const input = captured.get('')!.get(at)!;
    return got.size !== input.size || [...got].some((k) => !input.has(k));
  });
  expect(changed.length).toBeGreaterThanOrEqual(Object.keys(RULE_SETS).length - 1); // replace_no_match changes nothing
});
