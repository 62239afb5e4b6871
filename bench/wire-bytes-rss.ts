/**
 * `npm run bench -- --wire-bytes-rss`: the resident memory of the head's copy of each series'
 * wire label bytes (WireRefTable's arena, which lets a known series be found by comparing bytes).
 * Two child processes each create the same series in a fresh head through remote-write 1.0 label
 * bytes, one keeping the copies and one not (the hash table is there in both), and report their
 * growth in RSS: separate processes, since memory freed by one run need not go back to the system.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { encodedLabelsV1 } from '@strata/remote';
import { TSDB } from '@strata/tsdb';
import { REPO, tempDir } from '../test/harness.js';
import { generateSeries, SAMPLES_PER_REQUEST } from './load.js';

interface ChildResult {
  rss: number;
  heap: number;
  arrayBuffers: number;
  labelBytes: number;
}

/** In a child: `series` series created, one sample each, in requests of SAMPLES_PER_REQUEST; prints a ChildResult. */
export async function wireBytesRssChild(keepBytes: boolean, series: number): Promise<string> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const dir = tempDir('bench-wire-rss');
  const db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, samplesPerChunk: 120, maxSeries: 0 } });
  const tenant = await db.tenant('t');
  const labels = generateSeries(series);
  const t = Date.now();
  gc();
  const before = process.memoryUsage();
  let labelBytes = 0;
  for (let i = 0; i < series; i += SAMPLES_PER_REQUEST) {
    const app = tenant.appender();
    for (let j = i; j < Math.min(series, i + SAMPLES_PER_REQUEST); j++) {
      // The request's bytes live as long as the request, as a client's do.
      const { fields, hash } = encodedLabelsV1(labels[j]);
      labelBytes += fields.length;
      const ref = keepBytes ? app.ref(labels[j], hash, fields, 0, fields.length) : app.ref(labels[j], hash);
      app.append(ref, t, j);
    }
    await app.commit();
  }
  // Twice, a moment apart: the arena's previous, smaller copies are given back to the system
  // only once their buffers are collected and freed.
  gc();
  await new Promise((r) => setTimeout(r, 500));
  gc();
  const after = process.memoryUsage();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const r: ChildResult = {
    rss: after.rss - before.rss,
    heap: after.heapUsed - before.heapUsed,
    arrayBuffers: after.arrayBuffers - before.arrayBuffers,
    labelBytes,
  };
  return JSON.stringify(r);
}

export function runWireBytesRssBench(series: number, repeats: number): string {
  const run = (mode: 'keep' | 'none'): ChildResult => {
    const out = execFileSync(
      process.execPath,
      [
        ...process.execArgv,
        path.join(REPO, 'packages/cli/bin/run-ts.js'),
        path.join(REPO, 'bench/main.ts'),
        '--wire-bytes-rss-child',
        mode,
        '--series',
        String(series),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
  };
  const mib = (b: number) => (b / 1048576).toFixed(1);
  const rows: string[] = [];
  const perSeries: number[] = [];
  let labelBytes = 0;
  // Interleaved, so that the machine's load weighs on both alike.
  for (let k = 0; k < repeats; k++) {
    const keep = run('keep');
    const none = run('none');
    labelBytes = keep.labelBytes;
    perSeries.push((keep.rss - none.rss) / series);
    rows.push(
      `| ${k + 1} | ${mib(keep.rss)} | ${mib(none.rss)} | ${mib(keep.rss - none.rss)} | ${((keep.rss - none.rss) / series).toFixed(0)} | ${mib(keep.arrayBuffers - none.arrayBuffers)} |`,
    );
  }
  return [
    `## Resident memory of the head's wire label bytes: ${series} series, ${(labelBytes / series).toFixed(0)} B of Label fields each`,
    '',
    '| run | RSS growth, bytes kept (MiB) | RSS growth, none (MiB) | difference (MiB) | B per series | array buffers allocated, difference (MiB) |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Per series: ${Math.min(...perSeries).toFixed(0)}-${Math.max(...perSeries).toFixed(0)} B resident. The arena grows by doubling and the pages of its unused end are not touched, so it is allocated larger than it is resident.`,
  ].join('\n');
}
