/** The `strata` command as a user runs it: help, components, config file, /metrics, prefixes. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { freePort, getJson, REPO, startStrata, stop, STRATA_BIN, tempDir } from './harness.js';

jest.setTimeout(60_000);

test('npx strata --help lists the components and flags', () => {
  const out = execFileSync('npx', ['strata', '--help'], { cwd: REPO, encoding: 'utf8' });
  expect(out).toMatch(/Components:\n\s+all\s/);
  expect(out).toMatch(/\n\s+receiver\s/);
  expect(out).toContain('--http.address=<string> (default "0.0.0.0:9009")');
  expect(out).toContain('--storage.path=<string> (default "./data")');
  expect(out).toContain('--objstore.config-file');
  expect(out).toContain('[aliases: --receive.hashrings-file]');
});

test('an unknown flag or component exits 2 with a clear message', () => {
  const run = (args: string[]) => {
    try {
      execFileSync(process.execPath, [STRATA_BIN, ...args], { encoding: 'utf8', stdio: 'pipe' });
      return { code: 0, err: '' };
    } catch (e) {
      const x = e as { status: number; stderr: string };
      return { code: x.status, err: x.stderr };
    }
  };
  expect(run(['all', '--nope=1'])).toEqual({ code: 2, err: 'unknown flag --nope (see strata --help)\n' });
  expect(run(['frobnicate']).code).toBe(2);
  // One option under its own name and a Thanos alias: refused rather than one silently winning.
  expect(run(['receiver', '--receiver.replication-factor=3', '--receive.replication-factor=2'])).toEqual({
    code: 2,
    err: '--receiver.replication-factor and --receive.replication-factor both set receiver.replication-factor (receive.replication-factor is an alias of it); keep one\n',
  });
  // As Mimir: with query-store-after not below query-ingesters-within, a range between them would reach no store.
  expect(run(['querier', '--querier.query-ingesters-within=1h', '--querier.query-store-after=2h'])).toEqual({
    code: 2,
    err: '--querier.query-store-after (7200s) must be less than --querier.query-ingesters-within (3600s): data between the two would be asked of no store\n',
  });
});

test('strata receiver with a config file: write, read under / and /prometheus, /metrics', async () => {
  const port = await freePort();
  const dir = tempDir('cfg');
  const cfg = path.join(dir, 'strata.yml');
  fs.writeFileSync(cfg, `http:\n  address: 127.0.0.1:${port}\nwal:\n  fsync: batch\n`);
  const s = await startStrata({ component: 'receiver', port, args: [`--config.file=${cfg}`] });
  try {
    const body = snappyEncode(
      encodeWriteRequestV1([{ labels: Labels.fromObject({ __name__: 'cli_test', job: 'j' }), timestamps: [Date.now()], values: [1] }]),
    );
    const w = await fetch(`${s.url}/api/v1/push`, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
    });
    expect(w.status).toBe(204);
    for (const prefix of ['', '/prometheus']) {
      const r = await getJson(`${s.url}${prefix}/api/v1/series?match[]=cli_test`);
      expect(r.data).toEqual([{ __name__: 'cli_test', job: 'j' }]);
      const l = await getJson(`${s.url}${prefix}/api/v1/labels`);
      expect(l.data).toEqual(['__name__', 'job']);
    }
    const bad = await getJson(`${s.url}/api/v1/series?match[]=rate(`);
    expect(bad).toMatchObject({ status: 'error', errorType: 'bad_data' });
    expect(bad.error).toContain('invalid parameter "match[]"');
    const nf = await fetch(`${s.url}/api/v1/nope`);
    expect(nf.status).toBe(404);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    for (const name of [
      'strata_received_samples_total{tenant="anonymous"} 1',
      'strata_head_series{tenant="anonymous"} 1',
      'strata_wal_fsync_duration_seconds_count',
      'strata_request_duration_seconds_bucket',
      'strata_discarded_samples_total',
      'process_resident_memory_bytes',
    ]) {
      expect(metrics).toContain(name);
    }
  } finally {
    await stop(s);
  }
});

test('a receiver over its memory budget answers 503 + Retry-After, naming the flag', async () => {
  const s = await startStrata({ component: 'receiver', args: ['--receiver.memory-limit-bytes=1MiB'] });
  try {
    const body = snappyEncode(
      encodeWriteRequestV1([{ labels: Labels.fromObject({ __name__: 'mem_test' }), timestamps: [Date.now()], values: [1] }]),
    );
    const w = await fetch(`${s.url}/api/v1/write`, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
    });
    expect(w.status).toBe(503);
    expect(w.headers.get('retry-after')).toBe('5');
    expect(await w.text()).toMatch(/above its budget of 1 MiB \(--receiver.memory-limit-bytes\).*err-strata-memory-budget-exceeded/s);
    expect(await (await fetch(`${s.url}/metrics`)).text()).toContain('strata_receiver_memory_limit_bytes 1048576');
    const series = await getJson(`${s.url}/api/v1/series?match[]=mem_test`);
    expect(series.data).toEqual([]);
  } finally {
    await stop(s);
  }
});

test('the command runs compiled JavaScript without a TypeScript loader, and its stack traces name source files that exist', () => {
  // Loaded the way the strata bin loads it: the package's default export condition (dist/).
  const script = `
    process.setSourceMapsEnabled(true);
    const { Matcher } = await import('@strata/model');
    try { new Matcher('=~', 'l', '(') } catch (e) { console.log(e.stack) }
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8' });
  const frames = [...out.matchAll(/\((\/[^():]+):\d+:\d+\)/g)].map((m) => m[1]).filter((f) => f.includes('/packages/'));
  expect(frames.length).toBeGreaterThan(0);
  expect(frames.filter((f) => !fs.existsSync(f))).toEqual([]);
  expect(frames.some((f) => f.endsWith('packages/model/src/regex.ts'))).toBe(true);
  // The bin imports dist/main.js, never tsx.
  expect(fs.readFileSync(STRATA_BIN, 'utf8')).not.toMatch(/tsx/);
  expect(fs.existsSync(path.join(REPO, 'packages/cli/dist/main.js'))).toBe(true);
});
