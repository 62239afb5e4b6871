/** Float-path timing of the engine over an in-process head: run before and after an engine change. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Labels } from '@strata/model';
import { TSDB } from '@strata/tsdb';
import { Engine } from '@strata/promql';

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-engine-bench-'));
  const db = await TSDB.open({ dir, fsync: 'none', head: { outOfOrderWindowMs: 0, maxSeries: 0 } });
  const t = await db.tenant('t');
  const app = t.appender();
  const STEP = 15_000;
  const POINTS = 1440; // 6 h
  for (let s = 0; s < 2000; s++) {
    const l = Labels.fromObject({ __name__: 'req_total', job: `j${s % 10}`, instance: `i${s}` });
    const ref = app.ref(l);
    for (let k = 0; k < POINTS; k++) app.append(ref, k * STEP, k * ((s % 7) + 1));
  }
  for (let s = 0; s < 200; s++) {
    for (const le of ['0.1', '0.5', '1', '5', '+Inf']) {
      const l = Labels.fromObject({ __name__: 'lat_bucket', job: `j${s % 10}`, instance: `i${s}`, le });
      const ref = app.ref(l);
      for (let k = 0; k < POINTS; k++) app.append(ref, k * STEP, k * Number(le === '+Inf' ? 10 : le));
    }
  }
  await app.commit();
  const engine = new Engine();
  const q = t.querier();
  const queries = process.argv.includes('--hq')
    ? ['histogram_quantile(0.9, sum by (le) (rate(lat_bucket[5m])))', 'sum by (le) (rate(lat_bucket[5m]))']
    : ['sum by (job) (rate(req_total[5m]))', 'histogram_quantile(0.9, sum by (le) (rate(lat_bucket[5m])))', 'req_total * 2 > 10'];
  for (const query of queries) {
    const times: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t0 = performance.now();
      await engine.rangeQuery(q, query, 0, (POINTS - 1) * STEP, 60_000);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(`${query}: median ${times[3].toFixed(1)} ms\n`);
  }
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
void main();
