/**
 * The local append: a decoded write batch into the tenant's head, acknowledged only after the
 * WAL commit. Errors are tracked per series: an invalid series or sample is rejected on its own
 * while the rest of the batch lands, and the result names the first reason (the client's 400)
 * and which series were rejected (so a router's quorum counts the others as stored). Native
 * histograms are validated (validate-histogram.ts) and appended beside the float samples;
 * exemplars go to the tenant's exemplar store (rejected series by series where it has none), the
 * invalid ones dropped without failing anything (validate-exemplar.ts).
 */
import { Counter, type Registry } from 'prom-client';
import { Labels, StrataError, toStrataError, type ErrorId, type Span } from '@strata/model';
import {
  AppendStatus,
  DEFAULT_MAX_EXEMPLARS,
  ExemplarStatus,
  METRIC_LIMIT_REACHED,
  RECEIVER_SERIES_LIMIT_REACHED,
  SERIES_LIMIT_REACHED,
  type Appender,
  type MetricLimitHit,
  type HistogramSample,
  type TenantStorage,
} from '@strata/tsdb';
import {
  RELABELLED_LABELS,
  wireLabelsEqual,
  type ExemplarRecord,
  type HistogramTable,
  type SeriesRecord,
  type WriteBatch,
} from '@strata/remote';
import type { Limits, TenantLimits } from '@strata/api';
import type { MetadataStore } from './metadata-store.js';
import { describeSeries, limitHint, validateSeries } from './validate.js';
import { checkHistogram } from './validate-histogram.js';
import { EXEMPLAR_MAX_AGE_BEFORE_SAMPLES_MS, exemplarDiscardReason, type ExemplarDiscardReason } from './validate-exemplar.js';
import type { InputSeries, StreamAggregation } from './stream-aggr/aggregator.js';

export interface WriterOptions {
  storage: { tenant(id: string): Promise<TenantStorage> };
  limits: Limits;
  metadata: MetadataStore;
  registry: Registry;
  /** Samples further than this ahead of now are rejected. */
  creationGracePeriodMs: number;
  /** Injectable clock for tests. */
  now?: () => number;
  /**
   * The fraction of a tenant's series this receiver holds (RF / ring size in a ring): the
   * tenant's series limit is global, so each head enforces that share of it, as Mimir's
   * ingesters do, and a series counts once per ring instead of RF times. 1 when absent.
   */
  seriesLimitShare?: (tenant: string) => number;
  /** Told, after the commit, of accepted samples older than `olderThanMs()` before now (see LateSamples). */
  lateSamples?: LateSamples;
  /** Streaming aggregation of matching input series (stream-aggr/), fed the samples this receiver owns. */
  streamAggregation?: StreamAggregation;
  /** The process' series ceiling the storage enforces (--receiver.max-series), named in its rejections. */
  receiverMaxSeries?: number;
}

/**
 * Who must hear of samples that change the past: a query frontend caches answers for steps older
 * than its freshness window and invalidates them by time range when data lands there. The
 * receiver does not know the frontend; the CLI passes this in.
 */
export interface LateSamples {
  /** Asked at each request: the frontends reading the notices may say they cache more recent steps. */
  olderThanMs(): number;
  /** Called after the samples are visible to queries, with the range of their timestamps. */
  onLate(tenant: string, minTime: number, maxTime: number): void;
}

export interface WriteResult {
  samplesWritten: number;
  /** Native histogram samples stored (the 2.0 X-Prometheus-Remote-Write-Histograms-Written header). */
  histogramsWritten: number;
  histogramsRejected: number;
  exemplarsRejected: number;
  /** Exemplars stored, resends of the newest included; the invalid ones are dropped (strata_discarded_exemplars_total). */
  exemplarsWritten?: number;
  /** The first rejection: the status and body of the answer when set. */
  firstError?: StrataError;
  /** Indices (in the batch) of the series with a rejected label set or sample, ascending. */
  rejected?: number[];
}

/** Collects a batch's rejections: counts per error ID, the first error, the rejected series. */
class WriteErrors {
  readonly discarded = new Map<ErrorId, number>();
  readonly rejected: number[] = [];
  first: StrataError | undefined;

  add(series: number, id: ErrorId, n: number, err: () => StrataError): void {
    this.discarded.set(id, (this.discarded.get(id) ?? 0) + n);
    // Overload outranks bad data: the answer must be 503 so the sender retries what was refused for now.
    if (this.first === undefined || (id === 'receiver-max-series' && this.first.id !== id)) this.first = err();
    if (this.rejected[this.rejected.length - 1] !== series) this.rejected.push(series);
  }
}

export class Writer {
  private readonly received: Counter<'tenant'>;
  private readonly discarded: Counter<'reason' | 'tenant'>;
  private readonly discardedExemplars: Counter<'reason' | 'tenant'>;
  private readonly now: () => number;

  constructor(private readonly opts: WriterOptions) {
    this.now = opts.now ?? Date.now;
    this.received = new Counter({
      name: 'strata_received_samples_total',
      help: 'Samples accepted into the head, by tenant.',
      labelNames: ['tenant'],
      registers: [opts.registry],
    });
    this.discarded = new Counter({
      name: 'strata_discarded_samples_total',
      help: 'Samples rejected, by reason (error ID) and tenant.',
      labelNames: ['reason', 'tenant'],
      registers: [opts.registry],
    });
    this.discardedExemplars = new Counter({
      name: 'strata_discarded_exemplars_total',
      help: "Exemplars dropped without failing their request, by reason (Mimir's reason names) and tenant.",
      labelNames: ['reason', 'tenant'],
      registers: [opts.registry],
    });
  }

  /** The limits a tenant's series are validated against. */
  tenantLimits(tenant: string): TenantLimits {
    return this.opts.limits.forTenant(tenant);
  }

  /**
   * Counts samples rejected before they reached the writer (rate limits, the router's
   * validation) or dropped on purpose by the tenant's relabelling ('relabel').
   */
  discard(tenant: string, reason: ErrorId | 'relabel', samples: number): void {
    if (samples === 0) return;
    this.discarded.inc({ reason, tenant }, samples);
  }

  /** Counts exemplars dropped before they reached the writer (the router's validation). */
  discardExemplars(tenant: string, reason: ExemplarDiscardReason, n: number): void {
    if (n > 0) this.discardedExemplars.inc({ reason, tenant }, n);
  }

  /**
   * Validates and stores the batch; resolves once the accepted samples are durable, or with
   * `visibleFirst` once they are visible, durable after the next sync (Appender.commitVisible).
   */
  /** Resolves once everything written for the tenant so far, visibleFirst writes included, is durable. */
  async sync(tenant: string): Promise<void> {
    await (await this.opts.storage.tenant(tenant)).sync();
  }

  async write(tenant: string, batch: WriteBatch, v2: boolean, visibleFirst = false): Promise<WriteResult> {
    const { metadata, creationGracePeriodMs } = this.opts;
    const limits = this.opts.limits.forTenant(tenant);
    const storage = await this.opts.storage.tenant(tenant);
    const share = this.opts.seriesLimitShare?.(tenant) ?? 1;
    const maxSeries = localSeriesLimit(limits.maxGlobalSeriesPerUser, share);
    storage.setMaxSeries(maxSeries);
    // A metric's series spread over the ring like the tenant's, so its limit is shared out the same way; a
    // label's distinct values do not divide (each receiver may see all of them), so that limit applies as is.
    const maxPerMetric = localSeriesLimit(limits.maxGlobalSeriesPerMetric ?? 0, share);
    storage.setMetricLimits(maxPerMetric, limits.maxLabelValueCardinalityPerMetric ?? 0);
    const app = storage.appender();
    const maxT = this.now() + creationGracePeriodMs;
    const errors = new WriteErrors();
    let accepted = 0;
    // Samples before this time change answers a query frontend may have cached.
    const lateBefore = this.opts.lateSamples ? this.now() - this.opts.lateSamples.olderThanMs() : -Infinity;
    let lateMin = Infinity;
    let lateMax = -Infinity;
    let histograms = 0;
    let histogramsWritten = 0;
    let exemplars = 0;
    let exemplarsWritten = 0;
    // Exemplars are kept when the tenant's limit allows any, the store sized to this head's share
    // of it (a global limit, as Mimir's); 0 drops them without an error, as Mimir's distributor does.
    const maxExemplars = localSeriesLimit(limits.maxGlobalExemplarsPerUser ?? DEFAULT_MAX_EXEMPLARS, share);
    const keepExemplars = storage.exemplars !== undefined && maxExemplars > 0 && batch.numExemplars > 0;
    if (keepExemplars) storage.exemplars.resize(maxExemplars);
    const exemplarRules: ExemplarRules = {
      minT: keepExemplars ? earliestSample(batch) - EXEMPLAR_MAX_AGE_BEFORE_SAMPLES_MS : -Infinity,
      maxT,
      maxPerSeries: limits.maxExemplarsPerSeriesPerRequest ?? 0,
      discarded: new Map(),
    };
    // Series sent with exemplars and no samples, stored after every series of the request has
    // its samples in: they may only join a series that exists by then.
    const exemplarsOnly: number[] = [];
    // No closure in the loops below captures a loop variable (that would allocate a context per
    // series or per sample): errors are built by the helpers at the end of this module.
    // Series are read by index (seriesAt): a forwarded share's batch reuses one record for all of them.
    let current = batch.seriesCount > 0 ? batch.seriesAt(0) : undefined;
    const fields = batch.labelFields;
    const raw = batch.raw;
    const aggr = this.opts.streamAggregation?.forTenant(tenant);
    const nowMs = this.now();
    const sameLabels = fields
      ? (l: Labels) => fields.equals(current!, l.pairs)
      : (l: Labels) => wireLabelsEqual(raw, current!.labelsStart, current!.labelsEnd, l.pairs);
    const samePairs = (l: Labels) => pairsEqual(current!.labels, l.pairs);
    for (let k = 0, n = batch.seriesCount; k < n; k++) {
      const s = batch.seriesAt(k);
      histograms += s.histograms;
      exemplars += s.exemplars;
      if (s.exemplars > 0 && !storage.exemplars) errors.add(k, 'unsupported-sample-type', s.exemplars, unsupported(batch, s, 'exemplars'));
      const withExemplars = keepExemplars && s.exemplarList !== undefined;
      const nSamples = s.sampleEnd - s.sampleStart;
      if (s.metadata && (s.metadata.type !== 'unknown' || s.metadata.help !== '' || s.metadata.unit !== '')) {
        const name = metricNameOf(batch.labelsOf(s));
        if (name) metadata.set(tenant, name, s.metadata);
      }
      if (nSamples === 0 && s.histograms === 0) {
        if (withExemplars) exemplarsOnly.push(k);
        continue;
      }
      // A series seen before with the same wire bytes (or, in a forwarded share, the same label
      // fields) was validated when it was created; its labels are neither decoded nor validated again.
      // Relabelled series come with a hash of their new pairs: found the same way, compared as pairs.
      const relabelled = s.labelsStart === RELABELLED_LABELS;
      const wired = s.labelsStart >= 0 || relabelled;
      current = s;
      // Client bytes (not a forwarded share's fields, not relabelled) are found by the bytes themselves.
      const bytes = !fields && s.labelsStart >= 0;
      let ref = bytes
        ? app.cachedRefByBytes(s.labelsHash, raw, s.labelsStart, s.labelsEnd)
        : wired
          ? app.cachedRef(s.labelsHash, relabelled ? samePairs : sameLabels)
          : undefined;
      // The series' streaming aggregation state: undefined = not looked up yet, null = no rule matches.
      let input: InputSeries | null | undefined;
      if (aggr) {
        if (ref !== undefined) input = aggr.byHeadRef(ref);
        else if (wired && aggr.hasDropRules) input = aggr.droppedByWire(s.labelsHash, relabelled ? samePairs : sameLabels);
      }
      if (ref === undefined && input === undefined) {
        let pairs: string[];
        try {
          pairs = batch.labelsOf(s);
        } catch (e) {
          const err = toStrataError(e);
          errors.add(k, err.id, nSamples + s.histograms, constant(err));
          continue;
        }
        const labels = validateSeries(pairs, limits, v2);
        if (labels instanceof StrataError) {
          errors.add(k, labels.id, nSamples + s.histograms, constant(labels));
          continue;
        }
        if (aggr)
          input = (aggr.hasDropRules ? aggr.droppedByLabels(labels) : undefined) ?? aggr.classify(labels, wired ? s.labelsHash : undefined);
        // A dropped input never enters the head: it exists only as aggregation state.
        if (!input?.dropped) {
          ref = bytes ? app.ref(labels, s.labelsHash, raw, s.labelsStart, s.labelsEnd) : app.ref(labels, wired ? s.labelsHash : undefined);
          if (aggr && ref >= 0) {
            const known = aggr.byHeadRef(ref);
            if (known !== undefined) input = known;
            else aggr.rememberRef(ref, input!);
          }
        }
      } else if (aggr && input === undefined && ref !== undefined) {
        // In the head, new to aggregation (rules added, or state reset): classified once.
        input = aggr.classify(Labels.fromPairs(batch.labelsOf(s)), s.labelsHash);
        aggr.rememberRef(ref, input);
      }
      if (input?.dropped) {
        for (let i = s.sampleStart; i < s.sampleEnd; i++) {
          const t = batch.timestamps[i];
          if (t > maxT) {
            errors.add(k, 'sample-too-far-in-future', 1, sampleRejected('sample-too-far-in-future', batch, s, t, creationGracePeriodMs));
            continue;
          }
          if (input.primary) aggr!.feed(input, t, batch.values[i], nowMs);
          accepted++;
        }
        continue;
      }
      ref = ref!;
      if (ref < 0) {
        if (ref === SERIES_LIMIT_REACHED)
          errors.add(
            k,
            'max-series-per-tenant',
            nSamples + s.histograms,
            seriesLimitReached(batch, s, limits.maxGlobalSeriesPerUser, maxSeries),
          );
        else if (ref === METRIC_LIMIT_REACHED) {
          const hit = app.metricLimitHit()!;
          const id = hit.kind === 'series-per-metric' ? 'max-series-per-metric' : 'max-label-value-cardinality-per-metric';
          errors.add(k, id, nSamples, metricLimitReached(batch, s, hit, limits.maxGlobalSeriesPerMetric ?? 0));
        } else if (ref === RECEIVER_SERIES_LIMIT_REACHED)
          errors.add(k, 'receiver-max-series', nSamples, receiverFull(batch, s, this.opts.receiverMaxSeries ?? 0));
        continue;
      }
      for (let i = s.sampleStart; i < s.sampleEnd; i++) {
        const t = batch.timestamps[i];
        if (t > maxT) {
          errors.add(k, 'sample-too-far-in-future', 1, sampleRejected('sample-too-far-in-future', batch, s, t, creationGracePeriodMs));
          continue;
        }
        const st = app.append(ref, t, batch.values[i]);
        if (st === AppendStatus.OK) {
          accepted++;
          if (input?.primary) aggr!.feed(input, t, batch.values[i], nowMs);
          if (t < lateBefore) {
            if (t < lateMin) lateMin = t;
            if (t > lateMax) lateMax = t;
          }
        } else if (st === AppendStatus.DUPLICATE_IDENTICAL) accepted++;
        else if (st === AppendStatus.TOO_OLD) errors.add(k, 'sample-too-old', 1, sampleRejected('sample-too-old', batch, s, t, 0));
        else errors.add(k, 'sample-duplicate-timestamp', 1, sampleRejected('sample-duplicate-timestamp', batch, s, t, 0));
      }
      if (s.histograms > 0 && limits.nativeHistogramsIngestionEnabled === 0)
        errors.add(k, 'unsupported-sample-type', s.histograms, histogramsDisabled(batch, s));
      else if (s.histograms > 0) {
        const table = batch.histogramRows!;
        const maxBuckets = limits.maxNativeHistogramBuckets ?? 0;
        for (let i = s.histogramStart!; i < s.histogramStart! + s.histograms; i++) {
          const t = table.t[i];
          if (t > maxT) {
            errors.add(k, 'sample-too-far-in-future', 1, sampleRejected('sample-too-far-in-future', batch, s, t, creationGracePeriodMs));
            continue;
          }
          const verdict = checkHistogram(table, i, maxBuckets);
          if (!verdict.ok) {
            errors.add(k, verdict.id, 1, histogramRejected(batch, s, t, verdict.id, verdict.reason, maxBuckets));
            continue;
          }
          const st = app.appendHistogram(ref, t, histogramSampleOf(table, i), table.float[i] === 1, table.resetHint[i]);
          if (st === AppendStatus.OK) {
            histogramsWritten++;
            if (t < lateBefore) {
              if (t < lateMin) lateMin = t;
              if (t > lateMax) lateMax = t;
            }
          } else if (st === AppendStatus.DUPLICATE_IDENTICAL) histogramsWritten++;
          else if (st === AppendStatus.TOO_OLD) errors.add(k, 'sample-too-old', 1, sampleRejected('sample-too-old', batch, s, t, 0));
          else errors.add(k, 'sample-duplicate-timestamp', 1, sampleRejected('sample-duplicate-timestamp', batch, s, t, 0));
        }
      }
      if (withExemplars) exemplarsWritten += stageExemplars(app, ref, s.exemplarList!, exemplarRules);
    }
    for (const k of exemplarsOnly) {
      const s = batch.seriesAt(k);
      current = s;
      const ref = this.existingSeries(app, batch, s, limits, v2, sameLabels, samePairs);
      if (ref === undefined)
        exemplarRules.discarded.set('exemplar_series_missing', (exemplarRules.discarded.get('exemplar_series_missing') ?? 0) + s.exemplars);
      else exemplarsWritten += stageExemplars(app, ref, s.exemplarList!, exemplarRules);
    }
    for (const md of batch.metadata) {
      if (md.metricFamilyName) metadata.set(tenant, md.metricFamilyName, { type: md.type, help: md.help, unit: md.unit });
    }
    if (visibleFirst) app.commitVisible();
    else await app.commit();
    if (lateMax >= lateMin) this.opts.lateSamples!.onLate(tenant, lateMin, lateMax);
    this.received.inc({ tenant }, accepted + histogramsWritten);
    for (const [reason, n] of errors.discarded) this.discarded.inc({ reason, tenant }, n);
    for (const [reason, n] of exemplarRules.discarded) this.discardedExemplars.inc({ reason, tenant }, n);
    return {
      samplesWritten: accepted,
      histogramsWritten,
      histogramsRejected: histograms - histogramsWritten,
      exemplarsRejected: exemplars - exemplarsWritten,
      exemplarsWritten,
      firstError: errors.first,
      rejected: errors.rejected,
    };
  }

  /**
   * The head's series for a series sent without samples, or undefined if the head has none: found
   * by its wire bytes, or by its labels if they are valid (invalid ones name no series). Never creates one.
   */
  private existingSeries(
    app: Appender,
    batch: WriteBatch,
    s: SeriesRecord,
    limits: TenantLimits,
    v2: boolean,
    sameLabels: (l: Labels) => boolean,
    samePairs: (l: Labels) => boolean,
  ): number | undefined {
    const relabelled = s.labelsStart === RELABELLED_LABELS;
    if (s.labelsStart >= 0 && !batch.labelFields) {
      const ref = app.cachedRefByBytes(s.labelsHash, batch.raw, s.labelsStart, s.labelsEnd);
      if (ref !== undefined) return ref;
    } else if (s.labelsStart >= 0 || relabelled) {
      const ref = app.cachedRef(s.labelsHash, relabelled ? samePairs : sameLabels);
      if (ref !== undefined) return ref;
    }
    let labels: Labels | StrataError;
    try {
      labels = validateSeries(batch.labelsOf(s), limits, v2);
    } catch {
      return undefined;
    }
    return labels instanceof StrataError ? undefined : app.existingRef(labels);
  }
}

/** How a request's exemplars are checked, and what was dropped for which reason. */
interface ExemplarRules {
  minT: number;
  maxT: number;
  /** max_exemplars_per_series_per_request; 0 = unlimited. */
  maxPerSeries: number;
  discarded: Map<ExemplarDiscardReason, number>;
}

/** The earliest float or histogram sample of a batch (Infinity if it has none, so no exemplar is too old). */
function earliestSample(batch: WriteBatch): number {
  let min = Infinity;
  const h = batch.histogramRows;
  // By series: the typed arrays may be longer than what they hold.
  for (let k = 0, n = batch.seriesCount; k < n; k++) {
    const s = batch.seriesAt(k);
    for (let i = s.sampleStart; i < s.sampleEnd; i++) if (batch.timestamps[i] < min) min = batch.timestamps[i];
    if (h && s.histograms > 0) for (let i = s.histogramStart!; i < s.histogramStart! + s.histograms; i++) if (h.t[i] < min) min = h.t[i];
  }
  return min === Infinity ? -Infinity : min;
}

/** A head's share of a global series limit (0 = unlimited stays unlimited). */
export function localSeriesLimit(global: number, share: number): number {
  if (global <= 0 || share >= 1) return global;
  return Math.max(1, Math.ceil(global * share));
}

function constant(e: StrataError): () => StrataError {
  return () => e;
}

/**
 * Stages a series' exemplars (stored with the samples after the WAL commit); returns how many were
 * kept. Invalid ones are dropped and counted by reason, as Mimir's distributor drops them; those
 * beyond the per-request limit too (the first ones are kept). The rest go in timestamp order, as
 * Mimir sorts them, so the store refuses only what is older than what it holds; a resend of the
 * series' newest is kept without being stored twice, as Prometheus keeps it.
 */
function stageExemplars(app: Appender, ref: number, list: readonly ExemplarRecord[], rules: ExemplarRules): number {
  const drop = (reason: ExemplarDiscardReason, n = 1) => rules.discarded.set(reason, (rules.discarded.get(reason) ?? 0) + n);
  let sent = list;
  if (rules.maxPerSeries > 0 && sent.length > rules.maxPerSeries) {
    drop('too_many_exemplars_per_series_per_request', sent.length - rules.maxPerSeries);
    sent = sent.slice(0, rules.maxPerSeries);
  }
  const valid: ExemplarRecord[] = [];
  let sorted = true;
  for (const e of sent) {
    const why = exemplarDiscardReason(e, rules.minT, rules.maxT);
    if (why !== undefined) {
      drop(why);
      continue;
    }
    if (valid.length > 0 && e.timestamp < valid[valid.length - 1].timestamp) sorted = false;
    valid.push(e);
  }
  // Stable: exemplars of one timestamp keep the order they were sent in.
  if (!sorted) valid.sort((a, b) => a.timestamp - b.timestamp);
  let n = 0;
  for (const e of valid) {
    const st = app.appendExemplar(ref, { labels: [...Labels.fromPairs(e.labels).pairs], value: e.value, timestamp: e.timestamp });
    if (st === ExemplarStatus.OK || st === ExemplarStatus.DUPLICATE) n++;
    else if (st === ExemplarStatus.OUT_OF_ORDER) drop('exemplar_out_of_order');
  }
  return n;
}

function unsupported(batch: WriteBatch, s: SeriesRecord, what: string): () => StrataError {
  return () =>
    new StrataError(
      'unsupported-sample-type',
      `${what} are not stored yet and were rejected; float samples of the same request were written. series: '${describeSeries(batch.labelsOf(s))}'`,
    );
}

function histogramsDisabled(batch: WriteBatch, s: SeriesRecord): () => StrataError {
  return () =>
    new StrataError(
      'unsupported-sample-type',
      `native histogram samples are not accepted for this tenant and were rejected; float samples of the same request were written. ` +
        `${limitHint('nativeHistogramsIngestionEnabled')} series: '${describeSeries(batch.labelsOf(s))}'`,
    );
}

/** Row i of a batch's histogram table as the head takes it (views into the table, read before the request ends). */
function histogramSampleOf(table: HistogramTable, i: number): HistogramSample {
  const spans = (neg: boolean): Span[] => {
    const out: Span[] = [];
    for (let k = 0; k < table.numSpans(i, neg); k++) out.push({ offset: table.spanOffset(i, neg, k), length: table.spanLength(i, neg, k) });
    return out;
  };
  const buckets = (neg: boolean) =>
    table.buckets.data.subarray(table.bucketsAt(i, neg), table.bucketsAt(i, neg) + table.numBuckets(i, neg));
  const cv = table.customValuesAt(i);
  return {
    schema: table.schema[i],
    zeroThreshold: table.zeroThreshold[i],
    zeroCount: table.zeroCount[i],
    count: table.count[i],
    sum: table.sum[i],
    positiveSpans: spans(false),
    positiveBuckets: buckets(false),
    negativeSpans: spans(true),
    negativeBuckets: buckets(true),
    customValues: table.schema[i] === -53 ? table.customValues.data.subarray(cv, cv + table.numCustomValues(i)) : [],
  };
}

function histogramRejected(
  batch: WriteBatch,
  s: SeriesRecord,
  t: number,
  id: 'invalid-native-histogram' | 'max-native-histogram-buckets',
  reason: string,
  maxBuckets: number,
): () => StrataError {
  return () => {
    const series = describeSeries(batch.labelsOf(s));
    const at = new Date(t).toISOString();
    if (id === 'max-native-histogram-buckets') {
      return new StrataError(
        id,
        `native histogram over the per-tenant limit of ${maxBuckets} buckets (max_native_histogram_buckets): ${reason} (timestamp: ${at}) series: '${series}'. ${limitHint('maxNativeHistogramBuckets')}`,
      );
    }
    return new StrataError(id, `invalid native histogram: ${reason} (timestamp: ${at}) series: '${series}'`);
  };
}

function seriesLimitReached(batch: WriteBatch, s: SeriesRecord, global: number, local: number): () => StrataError {
  return () =>
    new StrataError(
      'max-series-per-tenant',
      `per-tenant series limit of ${global} exceeded${local !== global ? ` (${local} on this receiver, its share of the ring)` : ''}; the series was not created: '${describeSeries(batch.labelsOf(s))}'. ${limitHint('maxGlobalSeriesPerUser')}`,
    );
}

function metricLimitReached(batch: WriteBatch, s: SeriesRecord, hit: MetricLimitHit, globalPerMetric: number): () => StrataError {
  return () => {
    const series = describeSeries(batch.labelsOf(s));
    if (hit.kind === 'series-per-metric') {
      const local = hit.limit !== globalPerMetric ? ` (${hit.limit} on this receiver, its share of the ring)` : '';
      return new StrataError(
        'max-series-per-metric',
        `per-metric series limit of ${globalPerMetric}${local} exceeded for metric ${JSON.stringify(hit.metric)} (series held: ${hit.seen}); the series was not created: '${series}'. ${limitHint('maxGlobalSeriesPerMetric')}`,
      );
    }
    return new StrataError(
      'max-label-value-cardinality-per-metric',
      `label ${JSON.stringify(hit.label)} of metric ${JSON.stringify(hit.metric)} already has ${hit.seen} distinct values, the limit is ${hit.limit}; the series with a new value was not created: '${series}'. ${limitHint('maxLabelValueCardinalityPerMetric')}`,
    );
  };
}

function receiverFull(batch: WriteBatch, s: SeriesRecord, ceiling: number): () => StrataError {
  return () =>
    new StrataError(
      'receiver-max-series',
      `this receiver holds its ceiling of series for all tenants together (--receiver.max-series = ${ceiling}); the new series '${describeSeries(batch.labelsOf(s))}' was not created. Retry later, add receivers, or raise --receiver.max-series.`,
      { retryAfter: 10 },
    );
}

/** The error of a rejected sample at time t (graceMs: the creation grace period, for samples too far ahead). */
function sampleRejected(
  id: 'sample-too-far-in-future' | 'sample-too-old' | 'sample-duplicate-timestamp',
  batch: WriteBatch,
  s: SeriesRecord,
  t: number,
  graceMs: number,
): () => StrataError {
  return () => {
    const at = new Date(t).toISOString();
    const series = describeSeries(batch.labelsOf(s));
    switch (id) {
      case 'sample-too-far-in-future':
        return new StrataError(
          id,
          `received a sample whose timestamp is too far in the future (timestamp: ${at}, more than --receiver.creation-grace-period = ${graceMs / 1000}s ahead of now) series: '${series}'`,
        );
      case 'sample-too-old':
        return new StrataError(
          id,
          `received a sample whose timestamp is too old for the head and outside the out-of-order window (timestamp: ${at}); configure --receiver.out-of-order-window to accept older samples series: '${series}'`,
        );
      default:
        return new StrataError(
          id,
          `received a sample with the same timestamp as an existing sample but a different value (timestamp: ${at}) series: '${series}'`,
        );
    }
  };
}

function metricNameOf(pairs: readonly string[]): string {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === '__name__') return pairs[i + 1];
  return '';
}

function pairsEqual(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
