/**
 * `npm run bench -- --labels-inprocess`: the two heaviest requests of the --labels benchmark
 * (series of `up` and instance values of `up`, both over 24 h) called in-process on a TSDB
 * holding the same data (the same blocks, the head appended directly), through the fan-out and
 * the API handlers, JSON encoding included. No HTTP and no peers: a quick loop for profiling
 * (add --cpu-prof to node) that a loaded machine disturbs less than the full benchmark.
 *   --repeats N (300)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TSDB } from '@strata/tsdb';
import { FanoutQueryable } from '@strata/querier';
import { labelValuesHandler, seriesHandler } from '@strata/api';
import { liveSeries, valueAt, writeBlocks } from './labels.js';

export async function runLabelsInProcessBench(repeats: number): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-labels-inproc-'));
  try {
    const headStart = Math.floor((Date.now() - 91 * 60_000) / 60_000) * 60_000;
    const data = await writeBlocks(path.join(root, 'src'), headStart);
    const blocksDir = path.join(root, 'db', 'tenants', 'anonymous', 'blocks');
    fs.mkdirSync(blocksDir, { recursive: true });
    for (const b of data.blocks) fs.cpSync(path.join(data.blocksDir, b.ulid), path.join(blocksDir, b.ulid), { recursive: true });
    const db = await TSDB.open({
      dir: path.join(root, 'db'),
      fsync: 'none',
      head: { outOfOrderWindowMs: 0, maxSeries: 0 },
      compactIntervalMs: 0,
    });
    const tenant = await db.tenant('anonymous');
    const first = tenant.appender();
    const refs = liveSeries().map((l) => first.ref(l));
    await first.commit();
    for (let t = headStart; t <= data.end; t += 60_000) {
      const app = tenant.appender();
      for (let i = 0; i < refs.length; i++) app.append(refs[i], t, valueAt(i, t));
      await app.commit();
    }
    const q = new FanoutQueryable(() => [{ name: 'local', queryable: db.queryable() }], { replicaLabels: [], partialResponse: false });
    const end = (data.end + 30_000) / 1000;
    const params = () => new URLSearchParams({ 'match[]': 'up', start: String(end - 86400), end: String(end) });
    const cases: [string, () => Promise<{ body: unknown }>][] = [
      ['series?match[]=up, last 24h', () => seriesHandler(params(), q.querier('anonymous'))],
      ['label/instance/values?match[]=up, last 24h', () => labelValuesHandler('instance', params(), q.querier('anonymous'))],
    ];
    const lines = [
      `## Label requests in-process: ${refs.length} series, head + ${data.blocks.length} blocks, mean of ${repeats} calls`,
      '',
    ];
    for (const [name, fn] of cases) {
      for (let i = 0; i < 20; i++) await fn();
      const t0 = performance.now();
      for (let i = 0; i < repeats; i++) JSON.stringify((await fn()).body);
      lines.push(`- \`${name}\`: ${((performance.now() - t0) / repeats).toFixed(2)} ms`);
    }
    await db.close();
    return lines.join('\n');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
