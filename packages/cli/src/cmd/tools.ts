/**
 * `strata tools bucket ls|inspect|verify|mark|tombstones` over the bucket of --objstore.config-file (or the
 * local one under --storage.path). Its own flags: `--tenant=T` (inspect, ls), `--read-data`
 * (verify: also decode every index entry and chunk), `--deletion` or `--no-compact`, `--details=`
 * (mark). Output goes to stdout; verify exits 1 when it finds a problem.
 */
import path from 'node:path';
import { Registry } from 'prom-client';
import { formatInspect, inspectBucket, listTombstones, markBlock, verifyBucket } from '@strata/compactor';
import { ConfigError, loadConfig, parseArgs } from '../config.js';
import { openBucket } from '../storage.js';
import { list } from './common.js';
import { runRulesTools } from './tools-rules.js';
import { runCardinalityTool } from './tools-cardinality.js';

const USAGE = `Usage:
  strata tools bucket ls [--tenant=T]              block IDs, per tenant
  strata tools bucket tombstones [--tenant=T]      series deletion requests: tenant, id, selector, time range
  strata tools bucket inspect [--tenant=T]         a table per tenant: range, resolution, level, stats, sources, replicas, size, marks
  strata tools bucket verify [--read-data]         overlaps, partial uploads, missing files, unreadable meta.json (and index and chunks)
  strata tools bucket mark --deletion|--no-compact [--details=why] <tenant>/<ULID>
  strata tools rules check FILE...                 validate Prometheus rule files, as promtool check rules
  strata tools rules test FILE...                  run promtool's rule unit tests on Strata's rule engine
  strata tools cardinality --url=URL --tenant=T    top metrics, labels and what grew in the last hour (--limit=10, --window=1h)
Flags of every command apply (--objstore.config-file, --storage.path, --compactor.replica-label).
`;

export async function runTools(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  // Rule files are checked offline, promtool's way: files, no bucket.
  if (argv[0] === 'rules') return runRulesTools(argv);
  // Against a running cluster: HTTP only, no bucket.
  if (argv[0] === 'cardinality') return runCardinalityTool(argv.slice(1), out, (s) => process.stderr.write(s));
  const own = new Map<string, string>();
  const rest: string[] = [];
  for (const a of argv) {
    const m = /^--(tenant|read-data|deletion|no-compact|details)(?:=(.*))?$/.exec(a);
    if (m) own.set(m[1], m[2] ?? 'true');
    else rest.push(a);
  }
  const args = parseArgs(rest);
  const [group, cmd, target] = args.positional;
  if (group !== 'bucket' || !cmd || !['ls', 'inspect', 'verify', 'mark', 'tombstones'].includes(cmd)) {
    out(USAGE);
    return 2;
  }
  const cfg = loadConfig(args.flags);
  const bucket = openBucket(cfg.str('objstore.config-file'), path.resolve(cfg.str('storage.path')), new Registry());
  const replicaLabels = list(cfg.str('compactor.replica-label'));
  const tenants = own.has('tenant') ? [own.get('tenant')!] : undefined;
  try {
    switch (cmd) {
      case 'ls':
        for (const r of await inspectBucket(bucket, replicaLabels, tenants)) out(`${r.tenant}/${r.ulid}\n`);
        return 0;
      case 'tombstones':
        for (const line of await listTombstones(bucket, tenants)) out(`${line}\n`);
        return 0;
      case 'inspect':
        out(formatInspect(await inspectBucket(bucket, replicaLabels, tenants)));
        return 0;
      case 'verify': {
        const problems = await verifyBucket(bucket, replicaLabels, { readData: own.has('read-data') });
        for (const p of problems) out(`${p.kind}\t${p.tenant}${p.ulid ? `/${p.ulid}` : ''}\t${p.detail}\n`);
        out(`${problems.length} problems\n`);
        return problems.length ? 1 : 0;
      }
      case 'mark': {
        const kind = own.has('deletion') ? 'deletion' : own.has('no-compact') ? 'no-compact' : undefined;
        const m = /^([^/]+)\/([0-9A-Z]{26})$/.exec(target ?? '');
        if (!kind || own.has('deletion') === own.has('no-compact') || !m)
          throw new ConfigError(`mark needs --deletion or --no-compact and <tenant>/<ULID>\n${USAGE}`);
        await markBlock(bucket, m[1], m[2], kind, own.get('details') ?? 'marked with strata tools bucket mark');
        out(`${kind} mark written for ${m[1]}/${m[2]}\n`);
        return 0;
      }
    }
    return 2;
  } finally {
    await bucket.close();
  }
}
