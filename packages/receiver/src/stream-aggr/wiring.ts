/**
 * Streaming aggregation wired to a receiver: rules from the tenant's limits, ownership from the
 * ring (the first owner of a series), partials to other receivers over their write endpoint as a
 * signed internal body, like a forwarded share.
 */
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Limits } from '@strata/api';
import type { Labels } from '@strata/model';
import type { Hashrings } from '@strata/ring';
import { encodedLabelsV1, writeBatchOfSamplesV1, type EncodedLabels } from '@strata/remote';
import type { Distributor } from '../distributor.js';
import type { Writer } from '../writer.js';
import { StreamAggregation, type OutputSample, type PartialRecord } from './aggregator.js';

/** Content type of a body of stage-1 partials (JSON, snappy-compressed) sent to a group's owner. */
export const PARTIALS_CONTENT_TYPE = 'application/x-strata-stream-aggregation-partials+json';

export interface StreamAggregationWiring {
  limits: Limits;
  distributor?: Distributor;
  flushDelayMs: number;
  registry?: Registry;
  logger?: Logger;
  now?: () => number;
  /** How partials reach a peer: over HTTP through the distributor unless given (tests run peers in-process). */
  sendPartials?: (endpoint: string, tenant: string, records: PartialRecord[]) => Promise<void>;
}

export function createStreamAggregation(o: StreamAggregationWiring): StreamAggregation {
  const d = o.distributor;
  const self = d?.opts.self ?? 'local';
  return new StreamAggregation({
    rules: (tenant) => o.limits.forTenant(tenant).streamAggregationConfig,
    self,
    ownerOf: d
      ? (tenant, labels, epoch) => {
          try {
            return d.primaryOwner(tenant, labels, epoch === undefined ? undefined : (epoch as Hashrings));
          } catch {
            return self; // no usable ring: writes are refused anyway; nothing to place
          }
        }
      : () => self,
    ringEpoch: d ? () => d.opts.rings() : undefined,
    sendPartials:
      o.sendPartials ??
      (d
        ? async (endpoint, tenant, records) => {
            const r = await d.postInternal(endpoint, tenant, PARTIALS_CONTENT_TYPE, Buffer.from(JSON.stringify(records)));
            if (r.status < 200 || r.status >= 300) throw new Error(`${endpoint}: HTTP ${r.status} ${r.message}`);
          }
        : undefined),
    flushDelayMs: o.flushDelayMs,
    registry: o.registry,
    logger: o.logger,
    now: o.now,
  });
}

/**
 * Where outputs go: the path of a client's write (validation, the ring, the WAL) without the
 * rate limit, since they replace the inputs they were computed from.
 */
export function outputWriter(writer: Writer, d: Distributor | undefined): (tenant: string, samples: OutputSample[]) => Promise<void> {
  // An output series keeps its Labels object from interval to interval (the aggregator builds it
  // once per group): its Label fields are encoded once, and each flush builds its batch from them
  // without encoding or decoding a request.
  const encoded = new WeakMap<Labels, EncodedLabels>();
  const encodedOf = (l: Labels): EncodedLabels => {
    let e = encoded.get(l);
    if (!e) encoded.set(l, (e = encodedLabelsV1(l)));
    return e;
  };
  return async (tenant, samples) => {
    const n = samples.length;
    const labels: EncodedLabels[] = new Array(n);
    const ts = new Float64Array(n);
    const vs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = samples[i];
      labels[i] = encodedOf(s.labels);
      ts[i] = s.t;
      vs[i] = s.v;
    }
    const batch = writeBatchOfSamplesV1(labels, ts, vs);
    if (d) {
      const r = await d.replicate({ tenant, batch, v2: false }, writer);
      if (r.error) throw r.error;
      if (r.written?.firstError) throw r.written.firstError;
    } else {
      const r = await writer.write(tenant, batch, false);
      if (r.firstError) throw r.firstError;
    }
  };
}
