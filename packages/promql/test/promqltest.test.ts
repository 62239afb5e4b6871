import fs from 'node:fs';
import path from 'node:path';
import { promqltestMissingLine, promqltestPresent } from './promqltest/location.js';
import { readBaseline } from './promqltest/baseline.js';
import { defaultScriptDir, runFile, STABLE } from './promqltest/runner.js';

jest.setTimeout(300_000);

const dir = defaultScriptDir(path.resolve(__dirname, '../../..'));
const present = promqltestPresent(dir);
// On a fresh clone without the scripts this skips with one line; .ci/run refuses to start without them.
if (!present) process.stderr.write(`${promqltestMissingLine(dir)}\n`);

// Prometheus' own PromQL scripts (STRATA_PROMQLTEST_DIR, default ../shared/promqltest). No group
// may pass fewer evals than the recorded baseline; the baseline only goes up as the engine grows.
(present ? test : test.skip)(
  'PromQL conformance: the stable, native-histograms and experimental groups pass at least the baseline',
  async () => {
    const baseline = readBaseline(path.join(__dirname, 'promqltest/baseline.txt'));
    let passed = 0;
    let total = 0;
    let nhPassed = 0;
    let nhTotal = 0;
    let expPassed = 0;
    // Native-histogram evals sit in every file, not only their own: all files run.
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.test'));
    expect(files).toEqual(expect.arrayContaining(STABLE.map((n) => `${n}.test`)));
    for (const file of files) {
      const results = await runFile(path.join(dir, file));
      for (const r of results) {
        if (r.group === 'stable') {
          total++;
          if (r.outcome === 'passed') passed++;
        } else if (r.group === 'native-histograms') {
          nhTotal++;
          if (r.outcome === 'passed') nhPassed++;
        } else if (r.outcome === 'passed') expPassed++;
      }
    }
    expect(total).toBeGreaterThan(900);
    expect(passed).toBeGreaterThanOrEqual(baseline.stable);
    expect(nhTotal).toBeGreaterThan(800);
    expect(nhPassed).toBeGreaterThanOrEqual(baseline.nativeHistograms);
    expect(expPassed).toBeGreaterThanOrEqual(baseline.experimental);
  },
);
