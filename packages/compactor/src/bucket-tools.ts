/**
 * `strata tools bucket ...`: what an operator needs to see and fix in a bucket of blocks.
 * inspect lists every block with its meta (like `thanos tools bucket inspect`); verify reports
 * overlaps, partial uploads, missing files, unreadable meta.json and indexes or chunks that do
 * not decode; mark writes a deletion or no-compact mark by hand.
 */
import { bucketByteSource, type Bucket } from '@strata/objstore';
import { BlockReader, readSeriesInOrder, readTenantTombstones, type BlockMeta } from '@strata/tsdb';
import { blockObjects, listTenants, META_FILE, scanTenant } from './bucket-blocks.js';
import { DELETION_MARK_FILE, deletionMark, NO_COMPACT_MARK_FILE, noCompactMark } from './marks.js';
import { firstOverlap, groupBlocks, resolutionOf } from './planner.js';

export interface InspectRow {
  tenant: string;
  ulid: string;
  minTime: number;
  maxTime: number;
  resolution: number;
  level: number;
  series: number;
  samples: number;
  chunks: number;
  sources: number;
  /** Values of the replica labels, "k=v" joined by commas. */
  replicas: string;
  bytes: number;
  marks: string[];
}

export async function inspectBucket(bucket: Bucket, replicaLabels: readonly string[], tenants?: string[]): Promise<InspectRow[]> {
  const rows: InspectRow[] = [];
  for (const tenant of tenants ?? (await listTenants(bucket))) {
    const state = await scanTenant(bucket, tenant);
    for (const m of state.metas.values()) {
      let bytes = 0;
      for (const name of await blockObjects(bucket, tenant, m.ulid)) bytes += (await bucket.attributes(name)).size;
      const labels = m.thanos?.labels ?? {};
      rows.push({
        tenant,
        ulid: m.ulid,
        minTime: m.minTime,
        maxTime: m.maxTime,
        resolution: resolutionOf(m),
        level: m.compaction?.level ?? 1,
        series: m.stats?.numSeries ?? 0,
        samples: m.stats?.numSamples ?? 0,
        chunks: m.stats?.numChunks ?? 0,
        sources: m.compaction?.sources?.length ?? 1,
        replicas: replicaLabels
          .filter((l) => l in labels)
          .map((l) => `${l}=${labels[l]}`)
          .join(','),
        bytes,
        marks: [...(state.deletionMarks.has(m.ulid) ? ['deletion'] : []), ...(state.noCompact.has(m.ulid) ? ['no-compact'] : [])],
      });
    }
  }
  return rows.sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1)));
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const duration = (ms: number) => (ms % 3600_000 === 0 ? `${ms / 3600_000}h` : `${Math.round(ms / 60_000)}m`);

/** One table per tenant. */
export function formatInspect(rows: readonly InspectRow[]): string {
  const head = ['ULID', 'FROM', 'UNTIL', 'RANGE', 'RES', 'LEVEL', 'SERIES', 'SAMPLES', 'CHUNKS', 'SOURCES', 'REPLICAS', 'BYTES', 'MARKS'];
  const out: string[] = [];
  for (const tenant of [...new Set(rows.map((r) => r.tenant))]) {
    const table = rows
      .filter((r) => r.tenant === tenant)
      .map((r) => [
        r.ulid,
        iso(r.minTime),
        iso(r.maxTime),
        duration(r.maxTime - r.minTime),
        r.resolution ? duration(r.resolution) : 'raw',
        String(r.level),
        String(r.series),
        String(r.samples),
        String(r.chunks),
        String(r.sources),
        r.replicas || '-',
        String(r.bytes),
        r.marks.join(',') || '-',
      ]);
    const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
    out.push(`tenant ${tenant}: ${table.length} blocks`);
    for (const row of [head, ...table])
      out.push(
        row
          .map((c, i) => c.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      );
    out.push('');
  }
  return out.join('\n');
}

export interface Problem {
  tenant: string;
  ulid?: string;
  kind: 'bad-meta' | 'partial-upload' | 'missing-file' | 'overlap' | 'unreadable';
  detail: string;
}

/** Every problem of the bucket's blocks; `readData` also reads every index entry and chunk (slow on big buckets). */
export async function verifyBucket(bucket: Bucket, replicaLabels: readonly string[], opts: { readData: boolean }): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const tenant of await listTenants(bucket)) {
    const state = await scanTenant(bucket, tenant);
    for (const [ulid, why] of state.badMeta) problems.push({ tenant, ulid, kind: 'bad-meta', detail: why });
    for (const ulid of state.partial) problems.push({ tenant, ulid, kind: 'partial-upload', detail: 'a block folder without meta.json' });
    for (const m of state.metas.values()) {
      const prefix = `${tenant}/${m.ulid}/`;
      const have = new Set((await blockObjects(bucket, tenant, m.ulid)).map((n) => n.slice(prefix.length)));
      const want = ['index', ...(m.thanos?.files ?? []).map((f) => f.rel_path)].filter((f) => f !== META_FILE);
      for (const f of new Set(want))
        if (!have.has(f)) problems.push({ tenant, ulid: m.ulid, kind: 'missing-file', detail: `${f} is missing` });
      if (![...have].some((f) => f.startsWith('chunks/')))
        problems.push({ tenant, ulid: m.ulid, kind: 'missing-file', detail: 'no chunk segment' });
      if (opts.readData && have.has('index')) {
        const problem = await readBlock(bucket, prefix, m);
        if (problem) problems.push({ tenant, ulid: m.ulid, kind: 'unreadable', detail: problem });
      }
    }
    const live = [...state.metas.values()].filter((m) => !state.deletionMarks.has(m.ulid));
    for (const g of groupBlocks(live, replicaLabels)) {
      let rest: BlockMeta[] = g.blocks;
      for (let run = firstOverlap(rest); run; run = firstOverlap(rest)) {
        problems.push({
          tenant,
          kind: 'overlap',
          detail: `${run.length} blocks of group ${g.key} overlap: ${run.map((b) => `${b.ulid} [${iso(b.minTime)}, ${iso(b.maxTime)})`).join(', ')}`,
        });
        rest = rest.filter((b) => !run!.includes(b));
      }
    }
  }
  return problems;
}

/** Reads every series and chunk of a block from the bucket; the first problem, or undefined. */
async function readBlock(bucket: Bucket, prefix: string, meta: BlockMeta): Promise<string | undefined> {
  let reader: BlockReader | undefined;
  try {
    reader = await BlockReader.open(
      {
        meta: async () => JSON.stringify(meta),
        index: bucketByteSource(bucket, `${prefix}index`),
        segment: (seq) => bucketByteSource(bucket, `${prefix}chunks/${String(seq + 1).padStart(6, '0')}`),
      },
      prefix.slice(0, -1),
    );
    for await (const s of readSeriesInOrder(reader, { verifyChunks: true })) void s;
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await reader?.close().catch(() => undefined);
  }
}

/** Writes a mark into `<tenant>/<ulid>/` (the block must exist: its meta.json or at least a file). */
export async function markBlock(
  bucket: Bucket,
  tenant: string,
  ulid: string,
  kind: 'deletion' | 'no-compact',
  details: string,
  nowMs = Date.now(),
): Promise<void> {
  if ((await blockObjects(bucket, tenant, ulid)).length === 0) throw new Error(`no block ${tenant}/${ulid} in the bucket`);
  const [file, mark] =
    kind === 'deletion'
      ? [DELETION_MARK_FILE, deletionMark(ulid, nowMs, details)]
      : [NO_COMPACT_MARK_FILE, noCompactMark(ulid, nowMs, 'manual', details)];
  await bucket.upload(`${tenant}/${ulid}/${file}`, Buffer.from(JSON.stringify(mark, null, 2)));
}

/** The tenants' deletion requests (docs/format/tombstones.md), one line each: tenant, id, selector, range. */
export async function listTombstones(bucket: Bucket, tenants?: string[]): Promise<string[]> {
  const out: string[] = [];
  const iso = (ms: number) => (ms <= -8.64e15 || ms >= 8.64e15 ? (ms < 0 ? '-inf' : '+inf') : new Date(ms).toISOString());
  for (const tenant of tenants ?? (await listTenants(bucket))) {
    for (const t of await readTenantTombstones(bucket, tenant, (name, err) => out.push(`${name}\tunreadable: ${err.message}`))) {
      out.push(`${tenant}\t${t.id}\t{${t.matchers.map(String).join(', ')}}\t${iso(t.mint)}\t${iso(t.maxt)}`);
    }
  }
  return out;
}
