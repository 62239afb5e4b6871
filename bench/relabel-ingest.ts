/**
 * Ingest CPU per sample with a tenant's metric_relabel_configs active versus none, in one
 * process: each request is decoded, relabelled as the write handler does (IngestRelabeller) and
 * written by a Writer into a TSDB of its own per variant. Each request goes through every
 * variant in turn, so the machine's load weighs on all alike; figures are this process's CPU
 * time (process.cpuUsage) for the steady state (the first two scrapes create the series), per
 * sample received (samples of dropped series included).
 *
 * Variants: no rules; 10 rules that drop some series and leave the others' labels as they are
 * (the common containment rules); the same 10 with one rule that adds a label to every series
 * (every kept series is rewritten, so it no longer matches the client's bytes).
 */
import { parseRelabelConfigs, type RelabelRule } from '@strata/model';
import { IngestRelabeller, Writer } from '@strata/receiver';
import { decodeWriteRequestV1, snappyDecode } from '@strata/remote';
import { TSDB } from '@strata/tsdb';
import { openInProcessWriter } from './in-process-writer.js';
import { encodeRounds, generateSeries, SCRAPE_INTERVAL_MS, type Encoder } from './load.js';

const KEEPING: unknown[] = [
  { source_labels: ['__name__'], regex: 'go_.*', action: 'drop' },
  { source_labels: ['__name__', 'mode'], regex: 'node_cpu_seconds_total;(iowait|steal)', action: 'drop' },
  { source_labels: ['__name__'], regex: '.+', action: 'keep' },
  { regex: 'pod_template_hash|controller_revision_hash', action: 'labeldrop' },
  { regex: '__meta_kubernetes_(.*)', replacement: 'k8s_$1', action: 'labelmap' },
  { source_labels: ['handler'], target_label: 'handler', action: 'lowercase' },
  { source_labels: ['instance'], modulus: 4, target_label: '__tmp_shard', action: 'hashmod' },
  { regex: '__tmp_.*', action: 'labeldrop' },
  { source_labels: ['job'], target_label: 'instance', action: 'dropequal' },
  { source_labels: ['user_id'], regex: '(.+)', target_label: 'user', replacement: '$1', action: 'replace' },
];
const REWRITING: unknown[] = [
  ...KEEPING.slice(0, 9),
  { source_labels: ['instance'], regex: '(.*):\\d+', target_label: 'host', replacement: '$1' },
];

interface Variant {
  name: string;
  rules: readonly RelabelRule[] | undefined;
  writer: Writer;
  db: TSDB;
  relabeller: IngestRelabeller;
  micros: number;
  samples: number;
}

async function variant(name: string, rules: unknown[] | undefined): Promise<Variant> {
  const { writer, db } = await openInProcessWriter('bench-relabel');
  return { name, rules: rules && parseRelabelConfigs(rules), writer, db, relabeller: new IngestRelabeller(), micros: 0, samples: 0 };
}

const cpuMicros = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

export async function runRelabelIngestBench(seriesCount: number, roundsCount: number, encode: Encoder): Promise<string> {
  const rounds = encodeRounds(generateSeries(seriesCount), roundsCount, Date.now() - roundsCount * SCRAPE_INTERVAL_MS, encode);
  const variants = [
    await variant('no rules', undefined),
    await variant('10 rules', KEEPING),
    await variant('10 rules, 1 rewriting', REWRITING),
  ];
  for (let r = 0; r < rounds.length; r++) {
    const measured = r >= Math.min(2, rounds.length - 1);
    for (const [j, body] of rounds[r].bodies.entries()) {
      // Each request visits the variants in a rotating order: none always runs first (or last).
      for (let n = 0; n < variants.length; n++) {
        const v = variants[(j + n) % variants.length];
        const t0 = cpuMicros();
        const batch = decodeWriteRequestV1(snappyDecode(body, 1 << 30));
        v.relabeller.apply(batch, v.rules);
        const res = await v.writer.write('t', batch, false);
        if (res.firstError) throw res.firstError;
        if (measured) {
          v.micros += cpuMicros() - t0;
          v.samples += batch.numSamples;
        }
      }
    }
  }
  for (const v of variants) await v.db.close();
  const base = variants[0].micros / variants[0].samples;
  const lines = [
    `relabel ingest: ${seriesCount} series, ${roundsCount} scrapes (first 2 create the series), CPU of decode + relabel + write, per sample received`,
    ...variants.map(
      (v) =>
        `  ${v.name.padEnd(24)} ${((v.micros / v.samples) * 1000).toFixed(0).padStart(6)} ns/sample  ${((v.micros / v.samples / base) * 1).toFixed(2)}x  (${v.samples} samples)`,
    ),
  ];
  return lines.join('\n');
}
