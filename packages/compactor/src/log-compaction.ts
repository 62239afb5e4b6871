/**
 * Compaction of a tenant's log blocks (`<tenant>/logs/<ULID>/`, docs/format/logs.md), with the
 * metrics compactor's planner and safety order. Log blocks sit in the bucket as metric blocks do,
 * one folder down, so the bucket helpers and marks take `<tenant>/logs` where they take a tenant:
 * deletion and no-compact marks lie in the log block's folder. One pass:
 *   1. a block whose every source another block holds (a compaction that stopped before marking
 *      its sources) is marked for deletion;
 *   2. overlapping blocks (every receiver of the replication set ships its copy of the same
 *      range, and a late block overlaps its neighbours) are merged into one, then the blocks of
 *      each complete level range: sources downloaded, merged to local files in bounded memory,
 *      the new block uploaded with meta.json last, then the sources marked for deletion;
 *   3. blocks marked longer ago than the deletion delay are deleted, meta.json first.
 * Store gateways read a source and its compacted block side by side until the source goes; a
 * query drops the entries both hold (same stream, timestamp and line), so each step answers the
 * same queries as the one before it. Partial uploads are removed by log retention (log-retention.ts).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Bucket } from '@strata/objstore';
import {
  LOG_BLOCKS_DIR,
  LOG_CHUNKS_FILE,
  LOG_INDEX_FILE,
  LOG_META_FILE,
  LogSourceCorruptError,
  mergeLogBlocks,
  parseLogIndexWithSampledOut,
} from '@strata/logs';
import { ulid as newUlid, type BlockMeta } from '@strata/tsdb';
import { deleteBlock, downloadObject, scanTenant, uploadBlock, type TenantBlocks } from './bucket-blocks.js';
import type { CompactorMetrics } from './metrics.js';
import { byMinTime, planGroup, shippedSources, superseded, type Plan } from './planner.js';

export interface LogCompactionContext {
  bucket: Bucket;
  tenant: string;
  /** A scratch folder of this pass, removed afterwards by the caller. */
  workDir: string;
  blockRangesMs: readonly number[];
  deletionDelayMs: number;
  now: () => number;
  metrics: CompactorMetrics;
  logger?: Logger;
  stopped: () => boolean;
  /** The compactor's mark writers; `state.tenant` is the folder of the blocks (`<tenant>/logs`). */
  markForDeletion(state: TenantBlocks, ulid: string, reason: string): Promise<void>;
  markNoCompact(state: TenantBlocks, ulid: string, details: string): Promise<void>;
}

export interface LogCompactionSummary {
  compactions: number;
  failures: number;
  marked: number;
  deleted: number;
}

/** The folder holding a tenant's log blocks, as the bucket helpers take it in place of a tenant. */
export function logBlocksRoot(tenant: string): string {
  return `${tenant}/${LOG_BLOCKS_DIR}`;
}

export async function compactLogBlocks(ctx: LogCompactionContext): Promise<LogCompactionSummary> {
  const sum: LogCompactionSummary = { compactions: 0, failures: 0, marked: 0, deleted: 0 };
  const root = logBlocksRoot(ctx.tenant);
  const state = await scanTenant(ctx.bucket, root);
  for (const [ulid, why] of state.badMeta) if (!state.noCompact.has(ulid)) await ctx.markNoCompact(state, ulid, why);
  const unmarked = () => [...state.metas.values()].filter((b) => !state.deletionMarks.has(b.ulid)).sort(byMinTime);
  for (const b of superseded(unmarked())) {
    await ctx.markForDeletion(state, b.ulid, 'superseded');
    sum.marked++;
  }
  for (;;) {
    if (ctx.stopped()) break;
    const plan = planGroup(
      unmarked().filter((b) => !state.noCompact.has(b.ulid)),
      ctx.blockRangesMs,
    );
    if (!plan) break;
    ctx.metrics.groupsPlanned.inc();
    const r = await compactOnce(ctx, state, plan);
    if (r === 'failed') {
      sum.failures++;
      break; // retried next pass: planning again now would pick the same sources
    }
    if (r === 'done') sum.compactions++;
    else sum.marked++;
  }
  for (const [ulid, mark] of [...state.deletionMarks]) {
    if (ctx.now() - mark.deletion_time * 1000 < ctx.deletionDelayMs) continue;
    await deleteBlock(ctx.bucket, root, ulid);
    state.metas.delete(ulid);
    state.deletionMarks.delete(ulid);
    ctx.metrics.blocksDeleted.inc();
    sum.deleted++;
    ctx.logger?.info({ tenant: ctx.tenant, block: ulid }, 'log block deleted after its deletion delay');
  }
  return sum;
}

/** 'done', 'marked' (a source could not be read and got a no-compact mark) or 'failed'. */
async function compactOnce(ctx: LogCompactionContext, state: TenantBlocks, plan: Plan): Promise<'done' | 'marked' | 'failed'> {
  const { bucket, tenant, logger } = ctx;
  const root = logBlocksRoot(tenant);
  const srcDir = path.join(ctx.workDir, 'log-src');
  const outDir = path.join(ctx.workDir, 'log-out');
  await fsp.rm(srcDir, { recursive: true, force: true });
  await fsp.rm(outDir, { recursive: true, force: true });
  const started = performance.now();
  const handles: fsp.FileHandle[] = [];
  try {
    const sources = [];
    for (const s of plan.sources) {
      const dir = `${root}/${s.ulid}/`;
      const local = path.join(srcDir, s.ulid, LOG_CHUNKS_FILE);
      let index;
      try {
        index = parseLogIndexWithSampledOut((await bucket.get(dir + LOG_INDEX_FILE)).toString('utf8'), `log block ${tenant}/${s.ulid}`);
        await downloadObject(bucket, dir + LOG_CHUNKS_FILE, local);
      } catch (e) {
        throw new LogSourceCorruptError(s.ulid, bucket.isObjNotFound(e) ? 'index or chunks missing in the bucket' : (e as Error).message);
      }
      const fh = await fsp.open(local, 'r');
      handles.push(fh);
      sources.push({
        ulid: s.ulid,
        streams: index.streams,
        sampledOut: index.sampledOut,
        read: (offset: number, length: number) => readAt(fh, offset, length),
      });
    }
    const ulid = newUlid(ctx.now());
    const blockDir = path.join(outDir, ulid);
    await fsp.mkdir(blockDir, { recursive: true });
    const out = await fsp.open(path.join(blockDir, LOG_CHUNKS_FILE), 'w');
    let merged;
    try {
      merged = await mergeLogBlocks(ulid, sources, async (data) => void (await out.write(data)), {
        compaction: { level: Math.max(...plan.sources.map(levelOf)) + 1, sources: sourcesOf(plan.sources) },
      });
    } finally {
      await out.close();
    }
    if (merged) {
      await fsp.writeFile(path.join(blockDir, LOG_INDEX_FILE), merged.index);
      await fsp.writeFile(path.join(blockDir, LOG_META_FILE), JSON.stringify(merged.meta, null, '\t'));
      ctx.metrics.bytesWritten.inc(await uploadBlock(bucket, root, blockDir, ulid));
      state.metas.set(ulid, merged.meta as unknown as BlockMeta);
    }
    for (const s of plan.sources) await ctx.markForDeletion(state, s.ulid, 'compacted');
    ctx.metrics.compactions.inc({ kind: `logs-${plan.kind}`, result: 'done' });
    logger?.info(
      {
        tenant,
        kind: plan.kind,
        sources: plan.sources.map((s) => s.ulid),
        block: merged?.meta.ulid,
        entries: merged?.meta.stats.numEntries,
        duplicates: merged?.duplicates,
        copiedChunks: merged?.copiedChunks,
        seconds: Math.round(performance.now() - started) / 1000,
      },
      'log blocks compacted',
    );
    return 'done';
  } catch (e) {
    if (e instanceof LogSourceCorruptError && plan.sources.some((s) => s.ulid === e.ulid)) {
      await ctx.markNoCompact(state, e.ulid, e.message);
      return 'marked';
    }
    ctx.metrics.compactions.inc({ kind: `logs-${plan.kind}`, result: 'failed' });
    logger?.error({ tenant, err: (e as Error).message }, 'log compaction failed; retried next pass');
    return 'failed';
  } finally {
    for (const fh of handles) await fh.close();
    await fsp.rm(srcDir, { recursive: true, force: true });
    await fsp.rm(outDir, { recursive: true, force: true });
  }
}

async function readAt(fh: fsp.FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  const { bytesRead } = await fh.read(buf, 0, length, offset);
  return buf.subarray(0, bytesRead);
}

function levelOf(m: BlockMeta): number {
  return m.compaction?.level ?? 1;
}

/** The shipped blocks the sources hold, for the new block's compaction.sources. */
function sourcesOf(metas: readonly BlockMeta[]): string[] {
  const all = new Set<string>();
  for (const s of metas) for (const u of shippedSources(s)) all.add(u);
  return [...all].sort();
}
