import fs from 'node:fs';
import path from 'node:path';
import { promqltestMissingLine, promqltestPresent } from './promqltest/location.js';
import { defaultScriptDir, runFile, STABLE } from './promqltest/runner.js';

jest.setTimeout(300_000);

const dir = defaultScriptDir(path.resolve(__dirname, '../../..'));
const present = promqltestPresent(dir);
// On a fresh clone without the scripts this skips with one line; .ci/run refuses to start without them.
if (!present) process.stderr.write(`${promqltestMissingLine(dir)}\n`);

// Prometheus' own PromQL scripts (STRATA_PROMQLTEST_DIR, default ../shared/promqltest). The stable group
// must never pass fewer evals than the recorded baseline; the baseline only goes up as the engine grows.
(present ? test : test.skip)('PromQL conformance: the stable group passes at least the baseline', async () => {
  const baseline = Number(fs.readFileSync(path.join(__dirname, 'promqltest/baseline.txt'), 'utf8').trim());
  let passed = 0;
  let total = 0;
  for (const name of STABLE) {
    const results = await runFile(path.join(dir, `${name}.test`));
    for (const r of results) {
      if (r.group !== 'stable') continue;
      total++;
      if (r.outcome === 'passed') passed++;
    }
  }
  expect(total).toBeGreaterThan(900);
  expect(passed).toBeGreaterThanOrEqual(baseline);
});
