/**
 * Where Prometheus' promqltest scripts live. They are not vendored: `STRATA_PROMQLTEST_DIR` points at
 * them (a relative path is taken from the repository root), default `../shared/promqltest`.
 */
import fs from 'node:fs';
import path from 'node:path';

export const PROMQLTEST_ENV = 'STRATA_PROMQLTEST_DIR';

export function promqltestDir(repo: string, env: NodeJS.ProcessEnv = process.env): string {
  const configured = env[PROMQLTEST_ENV]?.trim();
  return path.resolve(repo, configured ? configured : path.join('..', 'shared', 'promqltest'));
}

/** True when the folder holds at least one `.test` script. */
export function promqltestPresent(dir: string): boolean {
  try {
    return fs.readdirSync(dir).some((f) => f.endsWith('.test'));
  } catch {
    return false;
  }
}

/** The one line printed when the scripts are missing; `consequence` says what happens for want of them. */
export function promqltestMissingLine(dir: string, consequence = 'PromQL conformance tests skipped'): string {
  return (
    `promqltest scripts not found in ${dir}: ${consequence}. ` +
    `Get them from Prometheus' repository (github.com/prometheus/prometheus, promql/promqltest/testdata/*.test) ` +
    `and put them there or point ${PROMQLTEST_ENV} at their folder.`
  );
}
