/**
 * Log pushes over the ring, as the distributor places metric series: each stream (tenant and
 * stream labels) goes to its replication-factor owners, this receiver's share into its own log
 * store and each peer's share forwarded as a log share (docs/format/logs.md#forwarded-shares),
 * signed, timed out and coalesced by the distributor. The push is decided stream by stream
 * with the metrics' quorum table (quorum.ts): 204 once every stream is in the fsynced WAL of a
 * write quorum of owners; 400 when too many owners refused a stream for good; 503 + Retry-After
 * while a retry could still reach the quorum.
 */
import { toStrataError, type StrataError } from '@strata/model';
import { encodeLogShare, type PushStream } from '@strata/logs';
import { bitsOf, type Distributor, type EndpointResult } from './distributor.js';
import { outcomeOf } from './quorum.js';

/** What an owner did with its share: which of the share's streams it refused (an entry of, at least). */
export interface ShareResult {
  firstError?: StrataError;
  refusedStreams: readonly number[];
}

/** Validates a share against this receiver's head and stores what passes (WAL fsync included). */
export type StoreShare = (tenant: string, streams: PushStream[]) => Promise<ShareResult>;

export async function replicateLogs(
  d: Distributor,
  tenant: string,
  streams: PushStream[],
  storeLocal: StoreShare,
): Promise<{ status: number; error?: StrataError }> {
  const ring = d.ringFor(tenant);
  const { owners, byEndpoint } = d.plan(
    ring,
    tenant,
    streams.map((s) => s.labels),
  );
  const total = streams.length;
  // With RF equal to the ring's size every peer gets every stream: one encoding serves them all.
  let whole: Buffer | undefined;
  const results = new Map<string, EndpointResult>();
  await Promise.all(
    [...byEndpoint].map(async ([ep, idx]) => {
      const share = idx.length === total ? streams : idx.map((i) => streams[i]);
      if (ep === d.opts.self) {
        results.set(ep, await storeAsResult(storeLocal, tenant, share, idx, total));
        return;
      }
      const body = idx.length === total ? (whole ??= encodeLogShare(streams)) : encodeLogShare(share);
      results.set(ep, await d.forwardLogShare(ep, tenant, body, idx, total));
    }),
  );
  return d.decide(owners, results);
}

async function storeAsResult(
  store: StoreShare,
  tenant: string,
  share: PushStream[],
  idx: readonly number[],
  total: number,
): Promise<EndpointResult> {
  try {
    const r = await store(tenant, share);
    const e = r.firstError;
    if (!e) return { outcome: 'ok', status: 204, message: '' };
    return {
      outcome: outcomeOf(e.status),
      status: e.status,
      message: e.detail,
      rejected: bitsOf(
        r.refusedStreams.map((k) => idx[k]),
        total,
      ),
    };
  } catch (e) {
    const err = toStrataError(e);
    return { outcome: outcomeOf(err.status), status: err.status, message: err.detail };
  }
}
