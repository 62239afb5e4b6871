/**
 * The fuzzer itself, on targets with planted defects: an undocumented error class, a hang and an
 * allocation far beyond the input are each found within seconds and fail the run; a clean target
 * passes. Runs the real CLI as CI does.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

test('planted defects are found and fail the run; a clean target passes', () => {
  const r = spawnSync(
    process.execPath,
    // Two at a time, as CI runs the fuzzer: findings still land on their own target's line.
    [
      '--import',
      'tsx',
      'test/fuzz/main.ts',
      '--seconds',
      '3',
      '--seed',
      '7',
      '--jobs',
      '2',
      '--targets',
      'test/fuzz/fixtures/broken-targets.ts',
    ],
    { cwd: root, encoding: 'utf8', timeout: 90_000 },
  );
  expect(r.status).toBe(1);
  const out = r.stdout;
  expect(out).toMatch(/^fuzz clean: \d+ runs.*, 0 findings$/m);
  expect(out).toMatch(/^fuzz type-error: .*, 1 findings\n {2}unexpected-error: TypeError: byte 0x42 is not handled/m);
  expect(out).toMatch(/^fuzz hang: did not finish, 1 findings\n {2}hang: no progress for \d+ ms on one input\n {4}input \(3 bytes\): 41/m);
  expect(out).toMatch(/^fuzz memory: .*, 1 findings\n {2}memory: one run grew heap \+ external memory by \d+ bytes/m);
  expect(out).toMatch(/^fuzz: 1 targets passed, 3 failed$/m);
}, 120_000);
