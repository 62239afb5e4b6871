/**
 * One compactor pass over the bucket, tenant by tenant, each step of it safe to stop at any
 * moment (SIGKILL included) because every step leaves the bucket answering the same queries:
 *   plan -> compact -> (further group steps: downsampling) -> retention -> deletion -> bucket index.
 * A compaction downloads its sources, merges them locally, uploads the new block with meta.json
 * last, and only then marks the sources for deletion; queries merge overlapping blocks, so the
 * sources and the new block side by side answer exactly what either does alone. A restart finds
 * a finished compaction whose sources are unmarked by the new block's compaction.sources and marks
 * them; a compaction that died before its meta.json was uploaded left a partial upload that no
 * reader uses and that is deleted once old. Sources are deleted only after the deletion delay,
 * when store gateways have stopped reading them. A block that cannot be read gets a
 * no-compact-mark.json with the reason and the pass goes on: the compactor never halts.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bucket } from '@strata/objstore';
import { owners } from '@strata/ring';
import { parseMeta, readTenantTombstones, type BlockMeta, type TenantTombstone, type Tombstone } from '@strata/tsdb';
import {
  blockObjects,
  BlockFilesMissingError,
  deleteBlock,
  downloadBlock,
  listTenants,
  META_FILE,
  scanTenant,
  uploadBlock,
  type TenantBlocks,
} from './bucket-blocks.js';
import { BUCKET_INDEX_FILE, buildBucketIndex, encodeBucketIndex } from './bucket-index.js';
import { DELETION_MARK_FILE, deletionMark, NO_COMPACT_MARK_FILE, noCompactMark } from './marks.js';
import { CompactorMetrics } from './metrics.js';
import { byMinTime, groupBlocks, planGroup, resolutionOf, superseded, type Group, type Plan } from './planner.js';
import { pastRetention, type RetentionPolicy } from './retention.js';
import { applyLogRetention } from './log-retention.js';
import { compactLogBlocks } from './log-compaction.js';

/** What a merge of source blocks reports. */
export interface MergeOutcome {
  /** The new block's folder name in the output directory. */
  ulid: string;
  /** Samples with equal timestamps and different values across sources (one was kept). */
  conflictingSamples: number;
}

/**
 * Merges the blocks in `sourceDirs` (local block folders) into one new block under `outDir`; for
 * a timestamp with different values in different sources, the first source's value is kept.
 * Throws an error naming a source's ULID (see `corruptBlockOf`) when a source cannot be read.
 * Samples `tombstones` cover are left out (raw blocks only: rollups get none).
 */
export type MergeBlocks = (
  sourceDirs: string[],
  outDir: string,
  group: { labels: Record<string, string>; resolution: number },
  tombstones?: readonly Tombstone[],
) => Promise<MergeOutcome>;

/** A group being worked on, as the steps after compaction (downsampling) see it. */
export interface GroupPass {
  tenant: string;
  group: Group;
  /** The group's blocks that may be read and rewritten (no marks), oldest first. */
  usable(): BlockMeta[];
  /** Every block of the tenant without a deletion mark, of every group (a step looks for its outputs). */
  tenantBlocks(): BlockMeta[];
  /** A scratch folder, emptied before and after the pass. */
  workDir: string;
  /** Downloads a block of the tenant into `dir/<ulid>`. */
  download(ulid: string, dir: string): Promise<void>;
  /** Uploads a new local block (meta.json last) and adds it to the tenant's blocks. */
  upload(blockDir: string): Promise<BlockMeta>;
  markForDeletion(ulid: string, reason: string): Promise<void>;
  markNoCompact(ulid: string, details: string): Promise<void>;
}

export type GroupStep = (pass: GroupPass) => Promise<void>;

export interface CompactorOptions {
  bucket: Bucket;
  /** Local scratch space for downloads and merged blocks. */
  dataDir: string;
  registry: Registry;
  logger?: Logger;
  merge: MergeBlocks;
  /** The ULID of the source block an error of `merge` blames, if it blames one. */
  corruptBlockOf: (err: unknown) => string | undefined;
  /** Level ranges, smallest first; the first is the range blocks arrive with. */
  blockRangesMs: number[];
  replicaLabels: string[];
  deletionDelayMs: number;
  /** A block folder without meta.json whose newest object is older than this is deleted. */
  partialUploadThresholdMs: number;
  retention: (tenant: string) => RetentionPolicy;
  /** The tenant's log retention_period (ms; 0 = forever); without it log blocks are left alone. */
  logRetention?: (tenant: string) => number;
  /** Compactors sharing the bucket, and which one this is: (tenant, group) pairs are sharded over them. */
  members: string[];
  self: string;
  /** Steps run on each owned group after its compactions, in order (downsampling). */
  groupSteps?: GroupStep[];
  now?: () => number;
}

export interface PassSummary {
  tenants: number;
  compactions: number;
  failures: number;
  marked: number;
  deleted: number;
}

export class Compactor {
  readonly metrics: CompactorMetrics;
  private running: Promise<PassSummary> | undefined;
  private stopped = false;

  constructor(private readonly opts: CompactorOptions) {
    this.metrics = new CompactorMetrics(opts.registry);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private owns(key: string): boolean {
    return owners(key, this.opts.members, 1)[0] === this.opts.self;
  }

  /** Stops after the step in progress (nothing is left half-done that a restart would not finish). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  /** One pass over every tenant; a second call while one runs shares it. */
  runPass(): Promise<PassSummary> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<PassSummary> {
    const summary: PassSummary = { tenants: 0, compactions: 0, failures: 0, marked: 0, deleted: 0 };
    let tenants: string[];
    try {
      tenants = await listTenants(this.opts.bucket);
    } catch (e) {
      this.metrics.passes.inc({ result: 'failed' });
      this.opts.logger?.error({ err: (e as Error).message }, 'cannot list the bucket; the pass is retried at the next interval');
      summary.failures++;
      return summary;
    }
    for (const tenant of tenants) {
      if (this.stopped) break;
      summary.tenants++;
      const before = summary.failures;
      try {
        await this.tenantPass(tenant, summary);
      } catch (e) {
        summary.failures++;
        this.opts.logger?.error({ tenant, err: (e as Error).message }, 'tenant pass failed; the other tenants go on');
      }
      if (summary.failures === before) this.metrics.lastSuccess.set({ tenant }, Math.floor(this.now() / 1000));
    }
    this.metrics.passes.inc({ result: summary.failures ? 'failed' : 'done' });
    return summary;
  }

  private async tenantPass(tenant: string, summary: PassSummary): Promise<void> {
    const { bucket, logger } = this.opts;
    const state = await scanTenant(bucket, tenant);
    const tombstones = await readTenantTombstones(bucket, tenant, (name, err) =>
      logger?.warn({ tenant, object: name, err: err.message }, 'tombstone unreadable; ignored'),
    );
    const workRoot = path.join(this.opts.dataDir, 'work', tenant);
    await fsp.rm(workRoot, { recursive: true, force: true });
    const tenantOwner = this.owns(tenant);

    if (tenantOwner) {
      for (const [ulid, why] of state.badMeta) {
        if (!state.noCompact.has(ulid)) await this.markNoCompact(state, ulid, why);
      }
    }
    const groups = groupBlocks([...state.metas.values()], this.opts.replicaLabels);
    for (const group of groups) {
      if (this.stopped) return;
      if (!this.owns(`${tenant}/${group.key}`)) continue;
      const workDir = path.join(workRoot, randomBytes(6).toString('hex'));
      try {
        await this.groupPass(state, group, workDir, summary, tombstones);
      } catch (e) {
        summary.failures++;
        logger?.error({ tenant, group: group.key, err: (e as Error).message }, 'group pass failed; the other groups go on');
      } finally {
        await fsp.rm(workDir, { recursive: true, force: true });
      }
      // Deletion of what was marked long enough ago, in this group.
      for (const b of group.blocks) {
        const mark = state.deletionMarks.get(b.ulid);
        if (!mark || this.now() - mark.deletion_time * 1000 < this.opts.deletionDelayMs) continue;
        await deleteBlock(bucket, tenant, b.ulid);
        state.metas.delete(b.ulid);
        state.deletionMarks.delete(b.ulid);
        this.metrics.blocksDeleted.inc();
        summary.deleted++;
        logger?.info({ tenant, block: b.ulid }, 'block deleted after its deletion delay');
      }
    }
    if (!tenantOwner) return;
    await this.cleanPartial(state);
    if (this.stopped) return;
    const logs = await compactLogBlocks({
      bucket,
      tenant,
      workDir: path.join(workRoot, 'logs'),
      blockRangesMs: this.opts.blockRangesMs,
      deletionDelayMs: this.opts.deletionDelayMs,
      now: () => this.now(),
      metrics: this.metrics,
      logger,
      stopped: () => this.stopped,
      markForDeletion: (s, ulid, reason) => this.markForDeletion(s, ulid, reason),
      markNoCompact: (s, ulid, details) => this.markNoCompact(s, ulid, details),
    }).finally(() => fsp.rm(path.join(workRoot, 'logs'), { recursive: true, force: true }));
    summary.compactions += logs.compactions;
    summary.failures += logs.failures;
    summary.marked += logs.marked;
    summary.deleted += logs.deleted;
    if (this.opts.logRetention) {
      const r = await applyLogRetention(bucket, tenant, this.opts.logRetention(tenant), {
        nowMs: this.now(),
        partialUploadThresholdMs: this.opts.partialUploadThresholdMs,
        logger,
      });
      this.metrics.blocksDeleted.inc(r.deleted.length);
      summary.deleted += r.deleted.length;
    }
    const ix = buildBucketIndex(state.metas.values(), state.deletionMarks, this.now(), (m) => ulidTimeMs(m.ulid));
    await bucket.upload(`${tenant}/${BUCKET_INDEX_FILE}`, encodeBucketIndex(ix));
  }

  private async groupPass(
    state: TenantBlocks,
    group: Group,
    workDir: string,
    summary: PassSummary,
    tombstones: readonly TenantTombstone[],
  ): Promise<void> {
    const tenant = state.tenant;
    const usable = () => group.blocks.filter((b) => !state.deletionMarks.has(b.ulid) && !state.noCompact.has(b.ulid));
    // A compaction that finished but whose sources were not marked (the compactor stopped in between).
    for (const b of superseded(group.blocks.filter((m) => !state.deletionMarks.has(m.ulid)))) {
      await this.markForDeletion(state, b.ulid, 'superseded');
      summary.marked++;
    }
    // Rollups are not rewritten: their aggregate chunks keep what a tombstone covers, hidden at read time.
    const rewrites = group.resolution === 0 ? tombstones : [];
    // First, each block a tombstone it does not yet reflect meets is rewritten alone without those samples.
    for (const b of usable()) {
      if (this.stopped) return;
      if (pendingTombstones(b, rewrites).length === 0) continue;
      const plan: Plan = { kind: 'tombstones', sources: [b] };
      this.metrics.groupsPlanned.inc();
      const ok = await this.compact(state, group, plan, workDir, rewrites);
      if (ok === 'failed') summary.failures++;
      else if (ok === 'done') summary.compactions++;
      else summary.marked++;
    }
    for (;;) {
      if (this.stopped) return;
      const plan = planGroup(usable(), this.opts.blockRangesMs);
      if (!plan) break;
      this.metrics.groupsPlanned.inc();
      const ok = await this.compact(state, group, plan, workDir, rewrites);
      if (ok === 'failed') {
        summary.failures++;
        break; // retried next pass; planning again now would pick the same sources
      }
      if (ok === 'done') summary.compactions++;
      else summary.marked++;
    }
    const pass: GroupPass = {
      tenant,
      group,
      usable,
      tenantBlocks: () => [...state.metas.values()].filter((b) => !state.deletionMarks.has(b.ulid)),
      workDir,
      download: async (ulid, dir) => void (await downloadBlock(this.opts.bucket, tenant, ulid, dir)),
      upload: (dir) => this.uploadNew(state, group, dir),
      markForDeletion: (ulid, reason) => this.markForDeletion(state, ulid, reason),
      markNoCompact: (ulid, details) => this.markNoCompact(state, ulid, details),
    };
    for (const step of this.opts.groupSteps ?? []) {
      if (this.stopped) return;
      await step(pass);
    }
    // Retention applies to every block not already marked, no-compact ones included.
    const unmarked = group.blocks.filter((b) => !state.deletionMarks.has(b.ulid));
    for (const b of pastRetention(unmarked, this.opts.retention(tenant), this.now())) {
      await this.markForDeletion(state, b.ulid, 'retention');
      summary.marked++;
    }
  }

  /** Runs one plan: 'done', 'marked' (a source was broken and got a no-compact mark) or 'failed'. */
  private async compact(
    state: TenantBlocks,
    group: Group,
    plan: Plan,
    workDir: string,
    tombstones: readonly TenantTombstone[],
  ): Promise<'done' | 'marked' | 'failed'> {
    const { bucket, logger } = this.opts;
    const tenant = state.tenant;
    const srcDir = path.join(workDir, 'src');
    const outDir = path.join(workDir, 'out');
    await fsp.rm(srcDir, { recursive: true, force: true });
    await fsp.rm(outDir, { recursive: true, force: true });
    await fsp.mkdir(outDir, { recursive: true });
    const started = performance.now();
    try {
      for (const s of plan.sources) await downloadBlock(bucket, tenant, s.ulid, srcDir);
      const minTime = Math.min(...plan.sources.map((s) => s.minTime));
      const maxTime = Math.max(...plan.sources.map((s) => s.maxTime));
      const applied = tombstones.filter((t) => t.mint < maxTime && t.maxt >= minTime);
      // A block rewritten alone keeps its own labels (a replica's block stays that replica's).
      const labels = plan.kind === 'tombstones' ? (plan.sources[0].thanos?.labels ?? group.labels) : group.labels;
      const out = await this.opts.merge(
        conflictOrder(plan.sources, this.opts.replicaLabels).map((s) => path.join(srcDir, s.ulid)),
        outDir,
        { labels, resolution: group.resolution },
        applied,
      );
      const blockDir = path.join(outDir, out.ulid);
      await finishMeta(blockDir, plan.sources, { labels, resolution: group.resolution }, applied);
      const meta = await this.uploadNew(state, group, blockDir);
      for (const s of plan.sources)
        await this.markForDeletion(state, s.ulid, plan.kind === 'tombstones' ? 'tombstones applied' : 'compacted');
      this.metrics.compactions.inc({ kind: plan.kind, result: 'done' });
      if (plan.kind === 'vertical') this.metrics.overlapsMerged.inc(plan.sources.length);
      this.metrics.conflictingSamples.inc(out.conflictingSamples);
      logger?.info(
        {
          tenant,
          group: group.key,
          kind: plan.kind,
          sources: plan.sources.map((s) => s.ulid),
          block: meta.ulid,
          minTime: meta.minTime,
          maxTime: meta.maxTime,
          seconds: Math.round(performance.now() - started) / 1000,
        },
        'blocks compacted',
      );
      return 'done';
    } catch (e) {
      const broken = e instanceof BlockFilesMissingError ? e.ulid : this.opts.corruptBlockOf(e);
      if (broken && plan.sources.some((s) => s.ulid === broken)) {
        await this.markNoCompact(state, broken, (e as Error).message);
        return 'marked';
      }
      this.metrics.compactions.inc({ kind: plan.kind, result: 'failed' });
      logger?.error({ tenant, group: group.key, err: (e as Error).message }, 'compaction failed; retried next pass');
      return 'failed';
    } finally {
      await fsp.rm(srcDir, { recursive: true, force: true });
      await fsp.rm(outDir, { recursive: true, force: true });
    }
  }

  private async uploadNew(state: TenantBlocks, group: Group, blockDir: string): Promise<BlockMeta> {
    const meta = parseMeta(await fsp.readFile(path.join(blockDir, META_FILE), 'utf8'), blockDir);
    this.metrics.bytesWritten.inc(await uploadBlock(this.opts.bucket, state.tenant, blockDir, meta.ulid));
    state.metas.set(meta.ulid, meta);
    // A rollup belongs to the group of its resolution, met at the next pass.
    if (resolutionOf(meta) === group.resolution) {
      group.blocks.push(meta);
      group.blocks.sort(byMinTime);
    }
    return meta;
  }

  private async markForDeletion(state: TenantBlocks, ulid: string, reason: string): Promise<void> {
    if (state.deletionMarks.has(ulid)) return;
    const mark = deletionMark(ulid, this.now(), reason);
    await this.opts.bucket.upload(`${state.tenant}/${ulid}/${DELETION_MARK_FILE}`, Buffer.from(JSON.stringify(mark, null, 2)));
    state.deletionMarks.set(ulid, mark);
    this.metrics.blocksMarked.inc({ mark: 'deletion', reason });
    this.opts.logger?.info({ tenant: state.tenant, block: ulid, reason }, 'block marked for deletion');
  }

  private async markNoCompact(state: TenantBlocks, ulid: string, details: string): Promise<void> {
    if (state.noCompact.has(ulid)) return;
    const mark = noCompactMark(ulid, this.now(), 'block-corrupt', details);
    await this.opts.bucket.upload(`${state.tenant}/${ulid}/${NO_COMPACT_MARK_FILE}`, Buffer.from(JSON.stringify(mark, null, 2)));
    state.noCompact.add(ulid);
    this.metrics.blocksMarked.inc({ mark: 'no-compact', reason: 'block-corrupt' });
    this.opts.logger?.warn(
      { tenant: state.tenant, block: ulid, reason: details },
      'block cannot be compacted; marked no-compact, the pass goes on',
    );
  }

  /** Deletes block folders without meta.json: past their deletion delay if marked, else once their newest object is old enough. */
  private async cleanPartial(state: TenantBlocks): Promise<void> {
    const { bucket, logger } = this.opts;
    for (const ulid of state.partial) {
      const mark = state.deletionMarks.get(ulid);
      let old: boolean;
      if (mark) old = this.now() - mark.deletion_time * 1000 >= this.opts.deletionDelayMs;
      else {
        let newest = 0;
        for (const name of await blockObjects(bucket, state.tenant, ulid)) {
          try {
            newest = Math.max(newest, (await bucket.attributes(name)).lastModified.getTime());
          } catch (e) {
            if (!bucket.isObjNotFound(e)) throw e;
          }
        }
        old = this.now() - newest >= this.opts.partialUploadThresholdMs;
      }
      if (!old) continue;
      await deleteBlock(bucket, state.tenant, ulid);
      state.deletionMarks.delete(ulid);
      this.metrics.partialDeleted.inc();
      logger?.info({ tenant: state.tenant, block: ulid }, 'partial upload deleted');
    }
  }
}

/**
 * The order in which sources are merged, which decides conflicts (the first source's value wins):
 * by the values of the replica labels, lexicographically (a block without them, i.e. an earlier
 * compaction's output, comes first), then by ULID. So the same blocks always give the same block.
 */
export function conflictOrder(sources: readonly BlockMeta[], replicaLabels: readonly string[]): BlockMeta[] {
  const key = (m: BlockMeta) => replicaLabels.map((l) => m.thanos?.labels?.[l] ?? '').join('\u0000');
  return [...sources].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0;
  });
}

/** The tombstones meeting a block's range that it does not reflect yet. */
export function pendingTombstones(b: BlockMeta, tombstones: readonly TenantTombstone[]): TenantTombstone[] {
  const done = new Set(b.strata?.tombstones ?? []);
  return tombstones.filter((t) => !done.has(t.id) && t.mint < b.maxTime && t.maxt >= b.minTime);
}

/**
 * The new block's meta.json as a compactor writes it: the group's labels, level, sources and parents,
 * and the tombstones it reflects: those applied now and those every source already reflected.
 */
async function finishMeta(
  blockDir: string,
  sources: readonly BlockMeta[],
  group: { labels: Record<string, string>; resolution: number },
  applied: readonly TenantTombstone[],
): Promise<void> {
  const file = path.join(blockDir, META_FILE);
  const meta = parseMeta(await fsp.readFile(file, 'utf8'), blockDir);
  const all = new Set<string>();
  for (const s of sources) for (const u of s.compaction?.sources?.length ? s.compaction.sources : [s.ulid]) all.add(u);
  meta.compaction = {
    level: Math.max(...sources.map((s) => s.compaction?.level ?? 1)) + 1,
    sources: [...all].sort(),
    parents: sources.map((s) => ({ ulid: s.ulid, minTime: s.minTime, maxTime: s.maxTime })),
  };
  meta.thanos = {
    ...(meta.thanos ?? { segment_files: undefined }),
    labels: group.labels,
    downsample: { resolution: group.resolution },
    source: 'compactor',
  };
  const reflected = new Set(applied.map((t) => t.id));
  for (const id of sources[0].strata?.tombstones ?? []) if (sources.every((s) => s.strata?.tombstones?.includes(id))) reflected.add(id);
  if (reflected.size > 0) meta.strata = { ...meta.strata, tombstones: [...reflected].sort() };
  await fsp.writeFile(file, JSON.stringify(meta, null, '\t'));
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** The millisecond time in a ULID's first 10 characters. */
export function ulidTimeMs(id: string): number {
  let t = 0;
  for (let i = 0; i < 10; i++) t = t * 32 + Math.max(0, ALPHABET.indexOf(id[i]));
  return t;
}
