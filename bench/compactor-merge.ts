/**
 * `npm run bench -- --compactor-merge`: vertical compaction of 3 replicas of a 2 h block
 * (compactBlocks), for two block sizes (--merge-series N,M; default 25000,100000). Each series
 * has 480 samples at 15 s in 4 chunks of 120. Two cases: "identical", the 3 replicas cut the
 * same chunks (the usual RF case: one copy of each chunk passes through); "shifted", replica r2
 * started one scrape late and has 1 sample in 500 with a different value, so its chunks are cut
 * elsewhere and every series is decoded, merged and re-encoded (the worst case). The compaction
 * runs in a child process on the compiled dist/, which reports its CPU time and peak RSS (VmHWM
 * of /proc/self/status, the whole process).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels } from '@strata/model';
import { BlockWriter, compareBytes, compareLabelsBytes, XOREncoder, type BlockChunk } from '@strata/tsdb';
import { REPO } from '../test/harness.js';

const RANGE = 2 * 3600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % RANGE);
const STEP = 15_000;
const SAMPLES = 480;
const PER_CHUNK = 120;

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

function value(s: number, k: number): number {
  return s % 2 === 0 ? (s + 1) * k : Math.round(Math.sin((s + k) / 10) * 1000) / 4;
}

type Case = 'identical' | 'shifted';

/** Replica `r` of series `s`, cut into chunks of 120 (shifted r2: one scrape late, 1 in 500 values different). */
function chunks(s: number, r: number): BlockChunk[] {
  const out: BlockChunk[] = [];
  const from = r === 2 ? 1 : 0;
  for (let i = from; i < SAMPLES; i += PER_CHUNK) {
    const enc = new XOREncoder(256);
    const end = Math.min(SAMPLES, i + PER_CHUNK);
    for (let k = i; k < end; k++) enc.append(T0 + k * STEP, r === 2 && (s + k) % 500 === 0 ? -1 : value(s, k));
    out.push({ minT: T0 + i * STEP, maxT: T0 + (end - 1) * STEP, data: enc.bytes().slice() });
  }
  return out;
}

async function writeReplicas(dir: string, n: number, c: Case): Promise<string[]> {
  const sets = labelSets(n);
  const symbols = [...new Set(sets.flatMap((l) => l.pairs))].sort(compareBytes);
  const out: string[] = [];
  for (let r = 0; r < 3; r++) {
    const w = await BlockWriter.create(dir, symbols, {
      minTime: T0,
      maxTime: T0 + RANGE,
      externalLabels: { tenant_id: 'bench', receive_replica: `r${r}` },
    });
    for (let s = 0; s < sets.length; s++) await w.addSeries(sets[s], chunks(s, r === 2 && c === 'shifted' ? 2 : 0));
    out.push(path.join(dir, (await w.finish()).ulid));
  }
  return out;
}

/** The child: compacts the blocks given as JSON and prints its CPU time, peak RSS and the stats. */
const CHILD = `
import fs from 'node:fs';
import { compactBlocks } from '@strata/tsdb';
const { blocks, out } = JSON.parse(process.argv[1]);
const kb = (k) => Number(fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(k + ':\\\\s+(\\\\d+)'))[1]);
const rssBefore = kb('VmRSS');
const c0 = process.cpuUsage();
const t0 = performance.now();
const { stats } = await compactBlocks(blocks, out);
const wall = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({ wall, cpu: (c.user + c.system) / 1e6, rssBeforeKb: rssBefore, hwmKb: kb('VmHWM'), stats }));
`;

interface ChildResult {
  wall: number;
  cpu: number;
  rssBeforeKb: number;
  hwmKb: number;
  stats: {
    series: number;
    samples: number;
    sourceSamples: number;
    chunks: number;
    overlapsMerged: number;
    conflictingSamples: number;
    bytes: number;
  };
}

export async function runCompactorMergeBench(sizes: number[]): Promise<string> {
  const rows: string[] = [];
  for (const c of ['identical', 'shifted'] as Case[])
    for (const n of sizes) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-merge-'));
      try {
        const blocks = await writeReplicas(dir, n, c);
        const inBytes = blocks.reduce((sum, b) => sum + dirBytes(b), 0);
        const out = path.join(dir, 'out');
        fs.mkdirSync(out);
        const res = JSON.parse(
          execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify({ blocks, out })], {
            cwd: REPO,
            encoding: 'utf8',
            maxBuffer: 1 << 20,
          }),
        ) as ChildResult;
        const s = res.stats;
        rows.push(
          `| ${c} | ${n} | ${(s.sourceSamples / 1e6).toFixed(1)} M | ${(s.samples / 1e6).toFixed(1)} M | ${Math.round(s.sourceSamples / res.wall / 1000)} k | ` +
            `${(res.cpu / (s.sourceSamples / 1e6)).toFixed(3)} | ${(res.rssBeforeKb / 1024).toFixed(0)} MB | **${(res.hwmKb / 1024).toFixed(0)} MB** | ` +
            `${s.overlapsMerged} | ${s.conflictingSamples} | ${(inBytes / 1e6).toFixed(1)} MB | ${(s.bytes / 1e6).toFixed(1)} MB |`,
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  return [
    '## Vertical compaction: 3 replicas of a 2 h block -> 1 block (compactBlocks, child process on dist/)',
    '',
    `${SAMPLES} samples per series in chunks of ${PER_CHUNK}. identical: 3 replicas with the same chunks; shifted: r2 one scrape late with 1 value in 500 different (every series merged and re-encoded).`,
    'Samples/s (wall clock) and CPU-s per 1M count the samples read from the 3 sources. Peak RSS is the whole child process (VmHWM).',
    '',
    '| case | series per block | samples in | samples out | samples/s | CPU-s per 1M samples | RSS before | peak RSS | series merged | conflicting samples | bytes in (3 blocks) | bytes out |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
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
