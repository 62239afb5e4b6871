/**
 * `npm run bench -- --compactor [--compactor-series N,M]`: the compactor's passes over a local-folder
 * bucket holding 3 replicas × 13 × 2 h blocks (12 fill a day, the 13th is the newest block, which
 * is never a level source). Stage 1 runs with block ranges 2h only: vertical compaction, the three
 * copies become one. Stage 2 runs with 2h,8h,24h: the day becomes one block. Each stage runs
 * `Compactor.runPass()` until a pass compacts nothing, in a child process on the compiled dist/,
 * which reports its CPU time and peak RSS (VmHWM, the whole process). Bytes are the bucket's files
 * (deletion delay 0, so compacted sources are gone when a stage ends).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels } from '@strata/model';
import { BlockWriter, compareBytes, compareLabelsBytes, parseMeta, XOREncoder, type BlockChunk } from '@strata/tsdb';
import { REPO } from '../test/harness.js';

const H = 3600_000;
const RANGE = 2 * H;
const DAY = 24 * H;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % DAY);
const STEP = 15_000;
const SAMPLES = RANGE / STEP;
const PER_CHUNK = 120;
const BLOCKS = 13;
const TENANT = 'bench';

function labelSets(n: number): Labels[] {
  const out: Labels[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      Labels.fromObject({
        __name__: `bench_metric_${i % 20}`,
        instance: `host-${Math.floor(i / 20)}:9100`,
        job: `job-${i % 7}`,
        zone: `z${i % 3}`,
      }),
    );
  return out.sort(compareLabelsBytes);
}

function chunks(s: number, from: number): BlockChunk[] {
  const out: BlockChunk[] = [];
  for (let i = 0; i < SAMPLES; i += PER_CHUNK) {
    const enc = new XOREncoder(256);
    const end = Math.min(SAMPLES, i + PER_CHUNK);
    for (let k = i; k < end; k++) {
      const t = from + k * STEP;
      const n = (t - T0) / STEP;
      enc.append(t, s % 2 === 0 ? (s + 1) * n : Math.round(Math.sin((s + n) / 10) * 1000) / 4);
    }
    out.push({ minT: from + i * STEP, maxT: from + (end - 1) * STEP, data: enc.bytes().slice() });
  }
  return out;
}

/** The replicas' blocks, written straight into the bucket folder (a local bucket is folders). */
async function writeBucket(dir: string, n: number): Promise<void> {
  const sets = labelSets(n);
  const symbols = [...new Set(sets.flatMap((l) => l.pairs))].sort(compareBytes);
  const tenantDir = path.join(dir, TENANT);
  fs.mkdirSync(tenantDir, { recursive: true });
  for (let b = 0; b < BLOCKS; b++) {
    const from = T0 + b * RANGE;
    // The replicas hold identical chunks (what RF copies of one stream are): written once, copied.
    const w = await BlockWriter.create(tenantDir, symbols, {
      minTime: from,
      maxTime: from + RANGE,
      externalLabels: { tenant_id: TENANT, receive_replica: 'r0' },
    });
    for (let s = 0; s < sets.length; s++) await w.addSeries(sets[s], chunks(s, from));
    const meta = await w.finish();
    for (const r of [1, 2]) {
      const ulid =
        meta.ulid.slice(0, 24) +
        String(r)
          .padStart(2, '0')
          .replace(/./g, (c) => 'ABCDEFGHJK'[Number(c)]);
      const to = path.join(tenantDir, ulid);
      fs.cpSync(path.join(tenantDir, meta.ulid), to, { recursive: true });
      const m = parseMeta(fs.readFileSync(path.join(to, 'meta.json'), 'utf8'), ulid);
      m.ulid = ulid;
      m.compaction = { level: 1, sources: [ulid] };
      m.thanos!.labels = { tenant_id: TENANT, receive_replica: `r${r}` };
      fs.writeFileSync(path.join(to, 'meta.json'), JSON.stringify(m, null, '\t'));
    }
  }
}

interface BucketState {
  blocks: Map<string, { samples: number; series: number }>;
  bytes: number;
  indexBytes: number;
}

function bucketState(dir: string): BucketState {
  const tenantDir = path.join(dir, TENANT);
  const blocks = new Map<string, { samples: number; series: number }>();
  let bytes = 0;
  let indexBytes = 0;
  for (const name of fs.readdirSync(tenantDir)) {
    const p = path.join(tenantDir, name);
    if (!fs.statSync(p).isDirectory()) continue;
    bytes += dirBytes(p);
    if (!fs.existsSync(path.join(p, 'meta.json'))) continue;
    const m = parseMeta(fs.readFileSync(path.join(p, 'meta.json'), 'utf8'), name);
    blocks.set(name, { samples: m.stats.numSamples, series: m.stats.numSeries });
    indexBytes += fs.statSync(path.join(p, 'index')).size;
  }
  return { blocks, bytes, indexBytes };
}

const CHILD = `
import fs from 'node:fs';
import { Registry } from 'prom-client';
import { Compactor, corruptBlockOf, mergeBlocks } from '@strata/compactor';
import { FilesystemBucket } from '@strata/objstore';
const { bucketDir, work, ranges } = JSON.parse(process.argv[1]);
const kb = (k) => Number(fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(k + ':\\\\s+(\\\\d+)'))[1]);
const rssBefore = kb('VmRSS');
const c = new Compactor({
  bucket: new FilesystemBucket(bucketDir), dataDir: work, registry: new Registry(), merge: mergeBlocks, corruptBlockOf,
  blockRangesMs: ranges, replicaLabels: ['receive_replica'], deletionDelayMs: 0, partialUploadThresholdMs: 86400000,
  retention: () => ({ raw: 0, fiveMinutes: 0, oneHour: 0, oneDay: 0 }), members: ['bench'], self: 'bench',
});
const c0 = process.cpuUsage();
const t0 = performance.now();
let compactions = 0, passes = 0, failures = 0;
for (;;) { const s = await c.runPass(); passes++; compactions += s.compactions; failures += s.failures; if (s.compactions === 0 || passes > 20) break; }
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({ wall, cpu: (cpu.user + cpu.system) / 1e6, rssBeforeKb: rssBefore, hwmKb: kb('VmHWM'), compactions, passes, failures }));
`;

interface ChildResult {
  wall: number;
  cpu: number;
  rssBeforeKb: number;
  hwmKb: number;
  compactions: number;
  passes: number;
  failures: number;
}

function runStage(bucketDir: string, ranges: number[]): ChildResult {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-cmp-work-'));
  try {
    return JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify({ bucketDir, work, ranges })], {
        cwd: REPO,
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      }),
    ) as ChildResult;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export async function runCompactorBench(sizes: number[]): Promise<string> {
  const bytesRows: string[] = [];
  const runRows: string[] = [];
  for (const n of sizes) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-cmp-'));
    try {
      await writeBucket(dir, n);
      const s0 = bucketState(dir);
      const samplesOneCopy = [...s0.blocks.values()].reduce((a, b) => a + b.samples, 0) / 3;
      const oneReplicaBytes = s0.bytes / 3;
      const stages: [string, number[]][] = [
        ['vertical (3 copies -> 1)', [RANGE]],
        ['levels 2h,8h,24h', [RANGE, 8 * H, DAY]],
      ];
      let before = s0;
      const states: [string, BucketState][] = [['3 replicas × 13 × 2 h', s0]];
      for (const [name, ranges] of stages) {
        const r = runStage(dir, ranges);
        const after = bucketState(dir);
        const read = [...before.blocks].filter(([u]) => !after.blocks.has(u)).reduce((a, [, b]) => a + b.samples, 0);
        runRows.push(
          `| ${n} | ${name} | ${r.compactions} | ${r.failures} | ${(read / 1e6).toFixed(1)} M | ${Math.round(read / r.wall / 1000)} k | ` +
            `${(r.cpu / (read / 1e6)).toFixed(3)} | ${r.wall.toFixed(1)} s | ${(r.rssBeforeKb / 1024).toFixed(0)} MB | **${(r.hwmKb / 1024).toFixed(0)} MB** |`,
        );
        states.push([`after ${name}`, after]);
        before = after;
      }
      for (const [name, s] of states)
        bytesRows.push(
          `| ${n} | ${name} | ${s.blocks.size} | ${(s.bytes / 1e6).toFixed(1)} MB | ${(s.bytes / samplesOneCopy).toFixed(3)} | ` +
            `${(s.bytes / oneReplicaBytes).toFixed(3)}x | ${(s.indexBytes / n).toFixed(0)} |`,
        );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return [
    `## Compactor passes over a local bucket: 3 replicas × ${BLOCKS} × 2 h blocks (child process on dist/)`,
    '',
    `${SAMPLES} samples per series per block (15 s), chunks of ${PER_CHUNK}; replicas hold identical chunks. Bytes per sample count the samples of one copy.`,
    '',
    '| series | bucket | blocks | bytes | bytes per sample | of one replica | index bytes per series |',
    '|---|---|---|---|---|---|---|',
    ...bytesRows,
    '',
    'Samples read are those of the blocks the stage compacted away. Peak RSS is the whole child process (VmHWM).',
    '',
    '| series | stage | compactions | failures | samples read | samples/s | CPU-s per 1M samples | wall | RSS before | peak RSS |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...runRows,
  ].join('\n');
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return n;
}
