/**
 * A tenant's blocks as the bucket holds them: complete blocks (meta.json present and readable),
 * their marks, partial uploads (a ULID folder without meta.json), and blocks whose meta.json
 * cannot be read. Plus moving whole blocks between the bucket and a local folder: downloads in
 * bounded ranges (never a whole segment in memory), uploads with meta.json last, so a reader that
 * sees meta.json sees the complete block, and deletions with meta.json first, so a block being
 * deleted turns into a partial upload that every reader already ignores.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Bucket } from '@strata/objstore';
import { parseMeta, type BlockMeta } from '@strata/tsdb';
import { DELETION_MARK_FILE, NO_COMPACT_MARK_FILE, parseDeletionMark, type DeletionMark } from './marks.js';

export const META_FILE = 'meta.json';
const ULID_RE = /^[0-9A-Z]{26}$/;
const DOWNLOAD_PIECE = 8 * 1024 * 1024;

export interface TenantBlocks {
  tenant: string;
  /** Complete blocks, by ULID. */
  metas: Map<string, BlockMeta>;
  deletionMarks: Map<string, DeletionMark>;
  noCompact: Set<string>;
  /** ULID folders without meta.json. */
  partial: string[];
  /** ULID -> why its meta.json cannot be used. */
  badMeta: Map<string, string>;
}

/** Tenants: top-level folders of the bucket that hold at least a name. */
export async function listTenants(bucket: Bucket): Promise<string[]> {
  const out: string[] = [];
  for await (const name of bucket.iter('')) {
    if (!name.endsWith('/')) continue;
    const t = name.slice(0, -1);
    if (t && !t.startsWith('.') && !t.includes('/')) out.push(t);
  }
  return out.sort();
}

export async function scanTenant(bucket: Bucket, tenant: string): Promise<TenantBlocks> {
  const state: TenantBlocks = { tenant, metas: new Map(), deletionMarks: new Map(), noCompact: new Set(), partial: [], badMeta: new Map() };
  const prefix = `${tenant}/`;
  for await (const dir of bucket.iter(prefix)) {
    const ulid = dir.slice(prefix.length, -1);
    if (!dir.endsWith('/') || !ULID_RE.test(ulid)) continue;
    let text: string | undefined;
    try {
      text = (await bucket.get(`${dir}${META_FILE}`)).toString('utf8');
    } catch (e) {
      if (!bucket.isObjNotFound(e)) throw e;
    }
    if (text === undefined) {
      // A folder with no object left (a local-folder bucket keeps the folder of a deleted block
      // while a killed upload's temporary file remains in it) is no block at all.
      if ((await blockObjects(bucket, tenant, ulid)).length === 0) continue;
      state.partial.push(ulid);
    } else {
      try {
        const meta = parseMeta(text, `block ${tenant}/${ulid}`);
        if (meta.ulid !== ulid) throw new Error(`block ${tenant}/${ulid}: meta.json names ULID ${meta.ulid}`);
        state.metas.set(ulid, meta);
      } catch (e) {
        state.badMeta.set(ulid, (e as Error).message);
      }
    }
    const mark = await getOptional(bucket, `${dir}${DELETION_MARK_FILE}`);
    const parsed = mark && parseDeletionMark(mark.toString('utf8'));
    if (parsed) state.deletionMarks.set(ulid, parsed);
    if (await bucket.exists(`${dir}${NO_COMPACT_MARK_FILE}`)) state.noCompact.add(ulid);
  }
  return state;
}

async function getOptional(bucket: Bucket, name: string): Promise<Buffer | undefined> {
  try {
    return await bucket.get(name);
  } catch (e) {
    if (bucket.isObjNotFound(e)) return undefined;
    throw e;
  }
}

/** Every object of a block folder (recursive). */
export async function blockObjects(bucket: Bucket, tenant: string, ulid: string): Promise<string[]> {
  const out: string[] = [];
  for await (const name of bucket.iter(`${tenant}/${ulid}/`, { recursive: true })) if (!name.endsWith('/')) out.push(name);
  return out;
}

/** Thrown when a block's files in the bucket cannot make a block (its index or chunks are missing). */
export class BlockFilesMissingError extends Error {
  constructor(
    readonly ulid: string,
    message: string,
  ) {
    super(message);
    this.name = 'BlockFilesMissingError';
  }
}

/** Copies a block's data files (not its marks) into `dir/<ulid>`; returns the bytes read. */
export async function downloadBlock(bucket: Bucket, tenant: string, ulid: string, dir: string): Promise<number> {
  const prefix = `${tenant}/${ulid}/`;
  const names = (await blockObjects(bucket, tenant, ulid)).filter((n) => {
    const rel = n.slice(prefix.length);
    return rel !== DELETION_MARK_FILE && rel !== NO_COMPACT_MARK_FILE;
  });
  const rels = new Set(names.map((n) => n.slice(prefix.length)));
  if (!rels.has('index')) throw new BlockFilesMissingError(ulid, `block ${tenant}/${ulid} has no index in the bucket`);
  if (![...rels].some((r) => r.startsWith('chunks/')))
    throw new BlockFilesMissingError(ulid, `block ${tenant}/${ulid} has no chunk segments in the bucket`);
  let bytes = 0;
  for (const name of names) bytes += await downloadObject(bucket, name, path.join(dir, ulid, ...name.slice(prefix.length).split('/')));
  return bytes;
}

/** Copies one object into a local file in bounded ranged reads; returns its size. */
export async function downloadObject(bucket: Bucket, name: string, file: string): Promise<number> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const fh = await fsp.open(file, 'w');
  let bytes = 0;
  try {
    for (let off = 0; ;) {
      const piece = await bucket.getRange(name, off, DOWNLOAD_PIECE);
      if (piece.length > 0) await fh.write(piece, 0, piece.length, off);
      off += piece.length;
      bytes += piece.length;
      if (piece.length < DOWNLOAD_PIECE) break;
    }
  } finally {
    await fh.close();
  }
  return bytes;
}

/** Files of a local block folder, relative, with "/" separators. */
function localFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...localFiles(dir, r));
    else out.push(r);
  }
  return out.sort();
}

/** Uploads a local block folder as `<tenant>/<ulid>/`, meta.json last; returns the bytes written. */
export async function uploadBlock(bucket: Bucket, tenant: string, blockDir: string, ulid: string): Promise<number> {
  let bytes = 0;
  const files = localFiles(blockDir).filter((f) => f !== META_FILE);
  for (const f of [...files, META_FILE]) {
    const file = path.join(blockDir, ...f.split('/'));
    bytes += fs.statSync(file).size;
    await bucket.upload(`${tenant}/${ulid}/${f}`, fs.createReadStream(file));
  }
  return bytes;
}

/** Deletes a block folder: meta.json first (readers then see a partial upload and skip it), the deletion mark last. */
export async function deleteBlock(bucket: Bucket, tenant: string, ulid: string): Promise<void> {
  const prefix = `${tenant}/${ulid}/`;
  const names = await blockObjects(bucket, tenant, ulid);
  const rank = (n: string) => (n === prefix + META_FILE ? 0 : n === prefix + DELETION_MARK_FILE ? 2 : 1);
  for (const n of names.sort((a, b) => rank(a) - rank(b))) {
    try {
      await bucket.delete(n);
    } catch (e) {
      if (!bucket.isObjNotFound(e)) throw e;
    }
  }
}
