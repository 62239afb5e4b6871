/**
 * Block benchmark: bytes per sample of Strata's blocks against a block Prometheus' own tooling
 * (promtool create-blocks-from openmetrics) writes from the same data, and the time to cut a
 * block of 100k series from a head and upload it to the local-folder bucket.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels } from '@strata/model';
import { FilesystemBucket } from '@strata/objstore';
import { Shipper, TSDB } from '@strata/tsdb';
import { generateSeries, valueOf } from './load.js';

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return n;
}

function blockBytes(dir: string): { index: number; chunks: number } {
  let index = 0;
  let chunks = 0;
  for (const b of fs.readdirSync(dir)) {
    if (!fs.existsSync(path.join(dir, b, 'meta.json'))) continue;
    index += fs.statSync(path.join(dir, b, 'index')).size;
    chunks += dirBytes(path.join(dir, b, 'chunks'));
  }
  return { index, chunks };
}

const RANGE = 2 * 3600_000;

async function headWith(dir: string, series: Labels[], samples: number, stepMs: number, start: number): Promise<TSDB> {
  const db = await TSDB.open({ dir, fsync: 'none', blockDurationMs: RANGE, head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
  const t = await db.tenant('bench');
  for (let i = 0; i < samples; i++) {
    const app = t.appender();
    for (let s = 0; s < series.length; s++) app.append(app.ref(series[s]), start + i * stepMs, valueOf(s, i));
    await app.commit();
  }
  return db;
}

export async function runBlockBench(): Promise<string> {
  const lines: string[] = [];
  // 1. Bytes per sample, same data in both: 2,000 series x 2 h at 15 s.
  const series = generateSeries(2000);
  const samples = RANGE / 15_000;
  const start = Math.floor(Date.now() / RANGE) * RANGE - 2 * RANGE;
  const sdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-blk-'));
  const db = await headWith(sdir, series, samples, 15_000, start);
  await db.compactAll(true);
  const strata = blockBytes((await db.tenant('bench')).blocksDir);
  await db.close();
  const om = path.join(sdir, 'data.om');
  const out = fs.createWriteStream(om);
  for (let s = 0; s < series.length; s++) {
    const l = series[s];
    const name = l.get('__name__');
    const rest: string[] = [];
    l.forEach((n, v) => {
      if (n !== '__name__') rest.push(`${n}=${JSON.stringify(v)}`);
    });
    for (let i = 0; i < samples; i++) out.write(`${name}{${rest.join(',')}} ${valueOf(s, i)} ${(start + i * 15_000) / 1000}\n`);
  }
  out.end('# EOF\n');
  await new Promise<void>((r) => out.on('finish', () => r()));
  const pdir = path.join(sdir, 'prom');
  execFileSync('/usr/bin/promtool', ['tsdb', 'create-blocks-from', 'openmetrics', om, pdir], { stdio: 'ignore', maxBuffer: 1 << 26 });
  const prom = blockBytes(pdir);
  const n = series.length * samples;
  const bps = (b: { index: number; chunks: number }) => (b.index + b.chunks) / n;
  lines.push(
    `## Block size: ${series.length} series x ${samples} samples (2 h at 15 s)`,
    '',
    '| writer | index bytes | chunk bytes | bytes per sample |',
    '|---|---|---|---|',
    `| Strata | ${strata.index} | ${strata.chunks} | ${bps(strata).toFixed(3)} |`,
    `| Prometheus 2.42 (promtool) | ${prom.index} | ${prom.chunks} | ${bps(prom).toFixed(3)} |`,
    '',
    `Strata/Prometheus bytes per sample: ${(bps(strata) / bps(prom)).toFixed(3)}x`,
  );
  fs.rmSync(sdir, { recursive: true, force: true });

  // 2. Cut and upload a block of 100k series (2 h at 60 s: 120 samples, one chunk each).
  const big = generateSeries(100_000);
  const bdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cut-'));
  const bdb = await headWith(bdir, big, 120, 60_000, start);
  const t0 = performance.now();
  const metas = await bdb.compactAll(true);
  const t1 = performance.now();
  const tenant = await bdb.tenant('bench');
  const bucketDir = path.join(bdir, 'bucket');
  const shipper = new Shipper({
    bucket: new FilesystemBucket(bucketDir),
    prefix: 'bench/',
    blocksDir: tenant.blocksDir,
    localRetentionMs: Infinity,
    dropLocal: async () => undefined,
  });
  await shipper.sync();
  const t2 = performance.now();
  lines.push(
    '',
    `## Cut and upload: 100,000 series x 120 samples, ${metas.length} block(s), ${(dirBytes(bucketDir) / 1e6).toFixed(1)} MB`,
    '',
    `cut (write block) ${((t1 - t0) / 1000).toFixed(2)} s, upload to the local-folder bucket ${((t2 - t1) / 1000).toFixed(2)} s`,
  );
  await bdb.close();
  fs.rmSync(bdir, { recursive: true, force: true });
  return lines.join('\n');
}
