import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { checkRuleFiles, loadRuleFile, parseRuleFile, RuleFileError } from '../src/rule-file.js';

const dir = path.join(__dirname, 'check');
const PROMTOOL = '/usr/bin/promtool';

/** What each bad file must report: the position, group and rule, and the problem. */
const BAD: Record<string, RegExp> = {
  'bad-expr.yml': /bad-expr\.yml: 5:15: group "g", rule 1, "job:up:sum": could not parse expression: /,
  'bad-record-name.yml': /4:17: group "g", rule 1, "job up": invalid recording rule name: job up/,
  'both.yml': /group "g", rule 1, "a": only one of 'record' and 'alert' must be set/,
  'neither.yml': /group "g", rule 1, "": one of 'record' or 'alert' must be set/,
  'repeated-group.yml': /4:11: groupname: "g" is repeated in the same file/,
  'unknown-field.yml': /6:9: group "g", rule 1, "A": field severity not found in type rulefmt.RuleNode/,
  'annotations-on-record.yml': /group "g", rule 1, "a": invalid field 'annotations' in recording rule/,
  'bad-template.yml': /group "g", rule 1, "A": .*error parsing template summary: template: __alert_A:1:\d+: unclosed action/,
  'bad-label-name.yml': /group "g", rule 1, "A": invalid label name: bad-name/,
  'bad-for.yml': /6:14: group "g", rule 1, "A": for: not a valid duration string: "5 minutes"/,
  'no-name.yml': /2:5: Groupname must not be empty/,
  'bad-yaml.yml': /bad-yaml\.yml: \d+:\d+: yaml: /,
};

describe('rule files', () => {
  test('a valid file: groups, rules, durations, labels and annotations', () => {
    const groups = loadRuleFile(path.join(dir, 'good.yml'));
    expect(groups.map((g) => [g.name, g.intervalMs, g.rules.length])).toEqual([
      ['node', 30_000, 2],
      ['empty', undefined, 0],
    ]);
    const [rec, alert] = groups[0].rules;
    expect(rec).toMatchObject({ kind: 'recording', name: 'instance:node_cpu:rate5m', labels: [['team', 'infra']], line: 5 });
    expect(alert).toMatchObject({ kind: 'alerting', name: 'HighCPU', forMs: 300_000, keepFiringForMs: 60_000, line: 9 });
    expect(alert.annotations[0][0]).toBe('summary');
  });

  test.each(Object.entries(BAD))('%s is refused with file, line, group and rule', (file, want) => {
    const f = path.join(dir, file);
    expect(() => loadRuleFile(f)).toThrow(RuleFileError);
    try {
      loadRuleFile(f);
    } catch (e) {
      expect((e as RuleFileError).problems.join('\n')).toMatch(want);
    }
  });

  test('every problem of a file is listed, not just the first', () => {
    const text =
      'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        for: 1m\n      - alert: B\n        expr: sum(\n';
    expect(() => parseRuleFile('x.yml', text)).toThrow(RuleFileError);
    try {
      parseRuleFile('x.yml', text);
    } catch (e) {
      expect((e as RuleFileError).problems).toHaveLength(2);
    }
  });

  test('an empty file has no groups', () => {
    expect(parseRuleFile('e.yml', '')).toEqual([]);
    expect(parseRuleFile('e.yml', 'groups:\n')).toEqual([]);
  });

  test('the real promtool agrees on which files are valid', () => {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yml'));
    expect(files.length).toBe(Object.keys(BAD).length + 1);
    for (const f of files) {
      let promtoolOk = true;
      try {
        execFileSync(PROMTOOL, ['check', 'rules', path.join(dir, f)], { stdio: 'pipe' });
      } catch {
        promtoolOk = false;
      }
      expect({ file: f, ok: checkRuleFiles([path.join(dir, f)]).ok }).toEqual({ file: f, ok: promtoolOk });
    }
  });

  test("check output is promtool's", () => {
    const r = checkRuleFiles([path.join(dir, 'good.yml'), path.join(dir, 'both.yml')]);
    expect(r.ok).toBe(false);
    expect(r.printed.slice(0, 3)).toEqual([
      { stream: 'stdout', text: `Checking ${path.join(dir, 'good.yml')}\n` },
      { stream: 'stdout', text: '  SUCCESS: 2 rules found\n\n' },
      { stream: 'stdout', text: `Checking ${path.join(dir, 'both.yml')}\n` },
    ]);
    expect(r.printed[3].stream).toBe('stderr');
    expect(r.printed[3].text).toMatch(/^ {2}FAILED:\n.*both\.yml: 4:17: group "g", rule 1, "a": only one/);
  });
});
