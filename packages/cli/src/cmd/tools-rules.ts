/** `strata tools rules check|test FILE...`: offline checks, like promtool's. Prints as promtool does; returns the exit code. */
import { checkRuleFiles, testRuleFiles } from '@strata/ruler';

const USAGE = 'Usage: strata tools rules check FILE...\n       strata tools rules test FILE...\n';

export async function runRulesTools(args: readonly string[]): Promise<number> {
  const [what, verb, ...files] = args;
  if (what !== 'rules' || (verb !== 'check' && verb !== 'test') || files.length === 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (verb === 'check') {
    const r = checkRuleFiles(files);
    for (const p of r.printed) process[p.stream].write(p.text);
    return r.ok ? 0 : 1;
  }
  const r = await testRuleFiles(files);
  for (const p of r.printed) process[p.stream].write(p.text);
  return r.ok ? 0 : 1;
}
