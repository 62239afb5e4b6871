/**
 * `npm run bench -- --cardinality [--series N]`: the error and the cost of cluster-wide
 * cardinality. N series (an exploding http_requests_total with user_id, plus node metrics) are
 * placed on a 4-receiver RF 3 ring by their hash (each receiver holds 3/4 of them, so receivers
 * overlap partly); a fifth TSDB holds them all as the single-node reference. Each receiver builds
 * the sketches of /api/v1/status/tsdb?limit=10 from its real head behind an HTTP server, the
 * querier's ClusterCardinality asks them in its two rounds and merges, and every figure of the
 * merged answer is compared with the reference's exact figure for the same name.
 *
 * Reported: the relative error of every figure of the answer (max and RMS over those above the
 * exact range of 512), CPU ms to build one receiver's sketches next to its exact tsdbStatus, the
 * bytes on the wire per receiver, the merge time; and the ingest cost of series-growth tracking:
 * CPU per created series with a SeriesGrowth attached to the head against none.
 */
import { hashPairsKey, Labels } from '@strata/model';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSketches, encodeSketches, mountCardinalityApi, Router, tsdbStatusFromSketches } from '@strata/api';
import { ClusterCardinality } from '@strata/querier';
import { SeriesGrowth } from '@strata/receiver';
import { TSDB } from '@strata/tsdb';
import { tempDir } from '../test/harness.js';

const RECEIVERS = 4;
const RF = 3;

function seriesFor(n: number): Labels[] {
  const out: Labels[] = [];
  const users = Math.floor((n * 0.9) / 4);
  for (let u = 0; u < users; u++)
    for (const method of ['GET', 'POST'])
      for (const code of ['200', '500'])
        out.push(Labels.fromObject({ __name__: 'http_requests_total', method, code, user_id: `u${u}`, job: 'api' }));
  for (let i = 0; out.length < n; i++)
    out.push(Labels.fromObject({ __name__: `node_metric_${i % 50}`, instance: `host-${Math.floor(i / 50)}:9100`, job: 'node' }));
  return out;
}

async function headOf(
  series: readonly Labels[],
  onCreated?: (t: string, p: readonly string[]) => void,
): Promise<{ db: TSDB; cpuMs: number }> {
  const db = await TSDB.open({
    dir: tempDir('bench-card'),
    fsync: 'none',
    head: { outOfOrderWindowMs: 0, maxSeries: 0 },
    onSeriesCreated: onCreated,
  });
  const t = await db.tenant('t');
  const c0 = process.cpuUsage();
  for (let i = 0; i < series.length; i += 5000) {
    const app = t.appender();
    for (const l of series.slice(i, i + 5000)) app.append(app.ref(l), 1_000, 1);
    await app.commit();
  }
  const c = process.cpuUsage(c0);
  return { db, cpuMs: (c.user + c.system) / 1000 };
}

function cpuMs<T>(fn: () => Promise<T>): Promise<{ v: T; ms: number }> {
  const c0 = process.cpuUsage();
  return fn().then((v) => {
    const c = process.cpuUsage(c0);
    return { v, ms: (c.user + c.system) / 1000 };
  });
}

export async function runCardinalityBench(n: number): Promise<string> {
  const all = seriesFor(n);
  const parts: Labels[][] = Array.from({ length: RECEIVERS }, () => []);
  for (const l of all) {
    // RF consecutive owners from the series' hash, as a ring places it.
    const first = hashPairsKey(l.pairs) % RECEIVERS;
    for (let r = 0; r < RF; r++) parts[(first + r) % RECEIVERS].push(l);
  }
  const single = await headOf(all);
  const receivers = await Promise.all(parts.map((p) => headOf(p)));
  const lines: string[] = [];
  lines.push(
    `cardinality: ${all.length} series, ${RECEIVERS} receivers at RF ${RF} (${parts.map((p) => p.length).join(', ')} series each)`,
  );

  const exactT = await cpuMs(async () => (await single.db.tenant('t')).tsdbStatus(10));
  const want = exactT.v;
  const built: { ms: number; bytes: number }[] = [];
  for (const r of receivers) {
    const src = (await r.db.tenant('t')).cardinality();
    const b = await cpuMs(() => buildSketches(src, { top: 30 }));
    const t0 = process.cpuUsage();
    const bytes = encodeSketches(b.v);
    const enc = process.cpuUsage(t0);
    built.push({ ms: b.ms + (enc.user + enc.system) / 1000, bytes: bytes.length });
  }
  const servers = await Promise.all(
    receivers.map(async (r) => {
      const router = new Router();
      mountCardinalityApi(router, {
        tenancy: { multiTenancy: true, header: 'X-Scope-OrgID' },
        source: (t) => r.db.openTenant(t)?.cardinality(),
      });
      const srv = http.createServer((req, res) => {
        const hit = router.match(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname);
        if (hit && hit !== 'method-not-allowed') return void hit.handler(req, res, hit.params);
        res.writeHead(404).end();
      });
      await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
      return srv;
    }),
  );
  const urls = servers.map((srv) => `http://127.0.0.1:${(srv.address() as AddressInfo).port}`);
  const cluster = new ClusterCardinality({ urls: () => urls, tenantHeader: 'X-Scope-OrgID', timeoutMs: 600_000 });
  const w0 = performance.now();
  const m = await cpuMs(async () => tsdbStatusFromSketches((await cluster.sketches('t', new URLSearchParams(), 10)).sketches, 10));
  const wallMs = performance.now() - w0;
  for (const srv of servers) await new Promise((ok) => srv.close(ok));
  const got = m.v;
  // Exact figures of the reference for any name (ties may rank other names of the same size in).
  const counts = (await single.db.tenant('t')).cardinality().labelValueCounts(undefined, undefined);
  const exactOf = (key: string, name: string): number => {
    if (key === 'seriesCountByMetricName') return counts.get('__name__')?.get(name) ?? 0;
    if (key === 'labelValueCountByLabelName') return counts.get(name)?.size ?? 0;
    const at = name.indexOf('=');
    return counts.get(name.slice(0, at))?.get(name.slice(at + 1)) ?? 0;
  };
  const errs: { what: string; want: number; got: number }[] = [
    { what: 'numSeries', want: want.headStats.numSeries, got: got.headStats.numSeries },
    { what: 'numLabelPairs', want: want.headStats.numLabelPairs, got: got.headStats.numLabelPairs },
  ];
  for (const key of ['seriesCountByMetricName', 'labelValueCountByLabelName', 'seriesCountByLabelValuePair'] as const) {
    for (const e of got[key]) errs.push({ what: `${key} ${e.name}`, want: exactOf(key, e.name), got: e.value });
    // The largest exact figure must be in the list (the top is found, not only sized).
    if (got[key][0] && want[key][0]) errs.push({ what: `${key} top`, want: want[key][0].value, got: got[key][0].value });
  }
  const large = errs.filter((e) => e.want > 512);
  const rel = large.map((e) => Math.abs(e.got - e.want) / e.want);
  const exactSmall = errs.filter((e) => e.want <= 512).every((e) => e.got === e.want);
  const rms = Math.sqrt(rel.reduce((a, x) => a + x * x, 0) / Math.max(1, rel.length));
  lines.push(
    `  error: ${large.length} figures above 512: max ${(Math.max(0, ...rel) * 100).toFixed(2)}%, RMS ${(rms * 100).toFixed(2)}%; ` +
      `${errs.length - large.length} figures at most 512: ${exactSmall ? 'all exact' : 'NOT all exact'}`,
  );
  const worst = large.sort((a, b) => Math.abs(b.got - b.want) / b.want - Math.abs(a.got - a.want) / a.want)[0];
  if (worst) lines.push(`  worst: ${worst.what}: ${worst.got} for ${worst.want}`);
  const avgMs = built.reduce((a, b) => a + b.ms, 0) / built.length;
  const avgBytes = built.reduce((a, b) => a + b.bytes, 0) / built.length;
  lines.push(
    `  cost per receiver: sketches ${avgMs.toFixed(0)} CPU ms (${((avgMs * 1e6) / parts[0].length).toFixed(0)} ns per series held), ` +
      `${(avgBytes / 1024).toFixed(1)} KiB on the wire; exact tsdbStatus of the single node ${exactT.ms.toFixed(0)} CPU ms; querier's two rounds over HTTP (all 4 receivers in this process) ${m.ms.toFixed(0)} CPU ms, ${wallMs.toFixed(0)} ms wall`,
  );

  // Growth tracking at series creation: the same series into a head with and without a tracker.
  const growth = new SeriesGrowth({ topMetrics: 20, maxMetricsPerTenant: 1000 });
  const plain = await headOf(all);
  const tracked = await headOf(all, (t, p) => growth.created(t, p));
  lines.push(
    `  growth tracking: head creation ${((plain.cpuMs * 1e6) / all.length).toFixed(0)} ns per series without, ` +
      `${((tracked.cpuMs * 1e6) / all.length).toFixed(0)} ns with (${(tracked.cpuMs / plain.cpuMs).toFixed(2)}x)`,
  );
  for (const d of [single, plain, tracked, ...receivers]) await d.db.close();
  return lines.join('\n');
}
