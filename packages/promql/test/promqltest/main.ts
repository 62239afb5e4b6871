/**
 * `npm run promqltest [-- --dir D] [--baseline FILE] [--verbose] [--file NAME]`: runs Prometheus'
 * PromQL test scripts and prints a table per file and one summary line (`--verbose`: also each failed
 * eval with its group). Without `--dir` the folder is `STRATA_PROMQLTEST_DIR`, default
 * `../shared/promqltest`; a missing folder fails the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { promqltestMissingLine, promqltestPresent } from './location.js';
import { readBaseline } from './baseline.js';
import { defaultScriptDir, runFile, type EvalResult, type Group } from './runner.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const dir = path.resolve(arg('dir') ?? defaultScriptDir(process.cwd()));
  const verbose = process.argv.includes('--verbose');
  const only = arg('file');
  if (!promqltestPresent(dir)) {
    // Here a missing folder is an error, not a skip: CI runs this to keep conformance from silently stopping.
    process.stderr.write(`${promqltestMissingLine(dir, 'nothing to run')}\n`);
    return 1;
  }
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test') && (!only || f === `${only}.test`))
    .sort();
  const all: EvalResult[] = [];
  process.stdout.write(`| file | passed | failed | skipped | of them native histograms (passed/all) |\n|---|---|---|---|---|\n`);
  for (const f of files) {
    const rs = await runFile(path.join(dir, f));
    all.push(...rs);
    const c = (o: string) => rs.filter((r) => r.outcome === o).length;
    const nh = rs.filter((r) => r.group === 'native-histograms');
    const nhCell = nh.length === 0 ? '' : `${nh.filter((r) => r.outcome === 'passed').length}/${nh.length}`;
    process.stdout.write(`| ${f} | ${c('passed')} | ${c('failed')} | ${c('skipped')} | ${nhCell} |\n`);
    const skipReasons = new Map<string, number>();
    for (const r of rs) if (r.outcome === 'skipped') skipReasons.set(r.reason!, (skipReasons.get(r.reason!) ?? 0) + 1);
    for (const [reason, n] of skipReasons) process.stdout.write(`|   skipped: ${reason} | | | ${n} |\n`);
    if (verbose)
      for (const r of rs)
        if (r.outcome === 'failed') process.stdout.write(`    ${f}:${r.line} [${r.group}]: ${r.expr}\n      ${r.reason}\n`);
  }
  const count = (g: Group) => {
    const rs = all.filter((r) => r.group === g);
    return `${rs.filter((r) => r.outcome === 'passed').length}/${rs.length}`;
  };
  process.stdout.write(
    `promqltest: stable ${count('stable')} passed, native-histograms ${count('native-histograms')}, experimental ${count('experimental')}\n`,
  );
  const baselineFile = arg('baseline');
  if (baselineFile) {
    const baseline = readBaseline(baselineFile);
    const passed = (g: Group) => all.filter((r) => r.group === g && r.outcome === 'passed').length;
    for (const [g, want] of [
      ['stable', baseline.stable],
      ['native-histograms', baseline.nativeHistograms],
      ['experimental', baseline.experimental],
    ] as const) {
      if (only && g !== 'stable') continue; // one file cannot reach a baseline over all files
      if (passed(g) < want) {
        process.stderr.write(`promqltest: ${passed(g)} ${g} evals pass, below the baseline of ${want} in ${baselineFile}\n`);
        return 1;
      }
    }
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
