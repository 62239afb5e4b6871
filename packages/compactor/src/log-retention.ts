/**
 * Retention of a tenant's log blocks (`<tenant>/logs/<ULID>/`, docs/format/logs.md): a block whose
 * newest entry is older than the tenant's retention_period (Loki's key; 0 keeps logs forever) is
 * deleted. meta.json goes first, so the store gateway's next sync drops the block and no reader
 * loads a block that is half gone; a reader that loaded it before skips chunks it cannot find.
 * A folder left without meta.json (an upload cut short, or a deletion cut short) is removed once
 * its ULID is older than the partial-upload threshold.
 */
import type { Logger } from 'pino';
import type { Bucket } from '@strata/objstore';
import { LOG_META_FILE, logBlocksPrefix, parseLogMeta } from '@strata/logs';
import { ulidTime } from '@strata/tsdb';

const ULID_RE = /^[0-9A-Z]{26}$/;

export interface LogRetentionResult {
  deleted: string[];
  partialsRemoved: string[];
}

export async function applyLogRetention(
  bucket: Bucket,
  tenant: string,
  retentionMs: number,
  opts: { nowMs: number; partialUploadThresholdMs: number; logger?: Logger },
): Promise<LogRetentionResult> {
  const out: LogRetentionResult = { deleted: [], partialsRemoved: [] };
  const prefix = logBlocksPrefix(tenant);
  for await (const dir of bucket.iter(prefix)) {
    const id = dir.slice(prefix.length, -1);
    if (!dir.endsWith('/') || !ULID_RE.test(id)) continue;
    let text: string | undefined;
    try {
      text = (await bucket.get(`${dir}${LOG_META_FILE}`)).toString('utf8');
    } catch (e) {
      if (!bucket.isObjNotFound(e)) throw e;
    }
    if (text === undefined) {
      if (opts.nowMs - ulidTime(id) >= opts.partialUploadThresholdMs) {
        await removeAll(bucket, dir);
        out.partialsRemoved.push(id);
      }
      continue;
    }
    if (retentionMs <= 0) continue;
    let maxTime: number;
    try {
      maxTime = parseLogMeta(text, `log block ${tenant}/${id}`).maxTime;
    } catch (e) {
      opts.logger?.warn({ tenant, block: id, err: (e as Error).message }, 'log block meta.json unreadable; retention skips it');
      continue;
    }
    if (opts.nowMs - maxTime < retentionMs) continue;
    await bucket.delete(`${dir}${LOG_META_FILE}`);
    await removeAll(bucket, dir);
    out.deleted.push(id);
    opts.logger?.info({ tenant, block: id, maxTime }, 'log block deleted: past retention_period');
  }
  return out;
}

async function removeAll(bucket: Bucket, dir: string): Promise<void> {
  const names: string[] = [];
  for await (const name of bucket.iter(dir, { recursive: true })) if (!name.endsWith('/')) names.push(name);
  for (const n of names) await bucket.delete(n);
}
