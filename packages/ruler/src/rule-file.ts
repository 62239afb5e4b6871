/**
 * Prometheus rule files (`groups[]` of recording and alerting rules), read and validated as
 * `promtool check rules` does: every problem names the file, the line and column, the group and
 * the rule, and a file with any problem yields no groups at all.
 */
import fs from 'node:fs';
import YAML, { isMap, isScalar, isSeq, LineCounter, type Node, type YAMLMap } from 'yaml';
import { isValidLegacyLabelName, isValidLegacyMetricName } from '@strata/model';
import { parse, parseDurationLiteral, type Expr } from '@strata/promql';
import { templateSyntaxError } from './template/prometheus-funcs.js';

export interface RuleSpec {
  kind: 'recording' | 'alerting';
  /** The record's metric name or the alert's name. */
  name: string;
  expr: string;
  ast: Expr;
  forMs: number;
  keepFiringForMs: number;
  labels: [string, string][];
  annotations: [string, string][];
  line: number;
}

export interface GroupSpec {
  name: string;
  file: string;
  /** undefined: the ruler's default interval. */
  intervalMs: number | undefined;
  queryOffsetMs: number | undefined;
  limit: number;
  labels: [string, string][];
  rules: RuleSpec[];
}

export class RuleFileError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

const GROUP_FIELDS = new Set(['name', 'interval', 'query_offset', 'limit', 'labels', 'rules']);
const RULE_FIELDS = new Set(['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);

/** A YAML document with positions for messages; YAML syntax errors throw RuleFileError. */
function readDocument(file: string, text: string): { doc: YAML.Document.Parsed; pos: Positions } {
  const lc = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const pos: Positions = {
    at(n) {
      if (!n?.range) return '';
      const p = lc.linePos(n.range[0]);
      return `${p.line}:${p.col}: `;
    },
    lineOf: (n) => (n?.range ? lc.linePos(n.range[0]).line : 0),
  };
  const problems: string[] = [];
  for (const e of doc.errors) {
    const p = lc.linePos(e.pos[0]);
    problems.push(`${file}: ${p ? `${p.line}:${p.col}: ` : ''}yaml: ${e.message.split('\n')[0]}`);
  }
  if (problems.length > 0) throw new RuleFileError(problems);
  return { doc, pos };
}

/**
 * Parses and validates one rule group given alone (a map with name, interval, rules...: the body
 * of Mimir's ruler configuration API), with the same checks and messages as a group in a rule file.
 * `file` names the group's origin in messages and becomes the spec's file (its namespace).
 */
export function parseRuleGroup(file: string, text: string): GroupSpec {
  const { doc, pos } = readDocument(file, text);
  const root = doc.contents;
  if (!isMap(root)) throw new RuleFileError([`${file}: ${pos.at(root)}yaml: a rule group must be a map with name and rules`]);
  const problems: string[] = [];
  const spec = parseGroup(file, root, pos, problems);
  if (problems.length > 0) throw new RuleFileError(problems);
  return spec;
}

/** Parses and validates rule file text; throws RuleFileError listing every problem. */
export function parseRuleFile(file: string, text: string): GroupSpec[] {
  const { doc, pos } = readDocument(file, text);
  const { at } = pos;
  const problems: string[] = [];
  const root = doc.contents;
  const groups: GroupSpec[] = [];
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) return groups;
  if (!isMap(root)) throw new RuleFileError([`${file}: ${at(root)}yaml: the file must be a map with a groups list`]);
  for (const pair of root.items) {
    const k = String((pair.key as { value?: unknown })?.value ?? pair.key);
    if (k !== 'groups') problems.push(`${file}: ${at(pair.key as Node)}field ${k} not found in type rulefmt.RuleGroups`);
  }
  const groupsNode = root.get('groups', true) as Node | undefined;
  if (groupsNode !== undefined && !isSeq(groupsNode) && !(isScalar(groupsNode) && groupsNode.value === null))
    problems.push(`${file}: ${at(groupsNode)}groups must be a list`);
  const seen = new Set<string>();
  const items = isSeq(groupsNode) ? groupsNode.items : [];
  for (const gn of items) {
    if (!isMap(gn)) {
      problems.push(`${file}: ${at(gn as Node)}a group must be a map`);
      continue;
    }
    groups.push(parseGroup(file, gn as YAMLMap, pos, problems, seen));
  }
  if (problems.length > 0) throw new RuleFileError(problems);
  return groups;
}

/** Where a node is in the text: "line:col: " for messages, and its line. */
interface Positions {
  at(n: Node | null | undefined): string;
  lineOf(n: Node | null | undefined): number;
}

/**
 * Validates one group's map, pushing its problems (the spec is meaningful only when none were
 * pushed); `seen` holds the names of the file's groups before it.
 */
function parseGroup(file: string, g: YAMLMap, pos: Positions, problems: string[], seen?: Set<string>): GroupSpec {
  const { at, lineOf } = pos;
  for (const pair of g.items) {
    const k = String((pair.key as { value?: unknown })?.value);
    if (!GROUP_FIELDS.has(k)) problems.push(`${file}: ${at(pair.key as Node)}field ${k} not found in type rulefmt.RuleGroup`);
  }
  const nameNode = g.get('name', true) as Node | undefined;
  const name = scalarString(nameNode);
  const gp = (msg: string, n: Node | undefined = nameNode ?? g) => problems.push(`${file}: ${at(n)}group "${name}": ${msg}`);
  if (!name) problems.push(`${file}: ${at(g)}Groupname must not be empty`);
  else if (seen?.has(name)) problems.push(`${file}: ${at(nameNode)}groupname: "${name}" is repeated in the same file`);
  seen?.add(name);
  const duration = (key: string): number | undefined => {
    const n = g.get(key, true) as Node | undefined;
    if (n === undefined) return undefined;
    const ms = parseDurationLiteral(scalarString(n));
    if (ms === undefined) gp(`${key}: not a valid duration string: ${JSON.stringify(scalarString(n))}`, n);
    return ms;
  };
  const intervalMs = duration('interval');
  if (intervalMs === 0) gp('interval must be greater than zero', g.get('interval', true) as Node);
  const queryOffsetMs = duration('query_offset');
  const limitNode = g.get('limit', true) as Node | undefined;
  let limit = 0;
  if (limitNode !== undefined) {
    limit = Number(scalarString(limitNode));
    if (!Number.isInteger(limit) || limit < 0) {
      gp(`limit: cannot unmarshal ${JSON.stringify(scalarString(limitNode))} into int`, limitNode);
      limit = 0;
    }
  }
  const groupLabels = stringMap(g.get('labels', true) as Node | undefined, (msg, n) => gp(msg, n));
  for (const [ln] of groupLabels) if (!isValidLegacyLabelName(ln) || ln === '__name__') gp(`invalid label name: ${ln}`);
  const rules: RuleSpec[] = [];
  const rulesNode = g.get('rules', true) as Node | undefined;
  const ruleItems = isSeq(rulesNode) ? rulesNode.items : [];
  if (rulesNode !== undefined && !isSeq(rulesNode) && !(isScalar(rulesNode) && rulesNode.value === null))
    gp('rules must be a list', rulesNode);
  ruleItems.forEach((rn, idx) => {
    if (!isMap(rn)) {
      gp(`rule ${idx + 1}: a rule must be a map`, rn as Node);
      return;
    }
    const r = rn as YAMLMap;
    const record = r.get('record', true) as Node | undefined;
    const alert = r.get('alert', true) as Node | undefined;
    const ruleName = scalarString(record ?? alert);
    const nameNodeR = (record ?? alert ?? r) as Node;
    const rp = (msg: string, n: Node = nameNodeR) =>
      problems.push(`${file}: ${at(n)}group "${name}", rule ${idx + 1}, "${ruleName}": ${msg}`);
    for (const pair of r.items) {
      const k = String((pair.key as { value?: unknown })?.value);
      if (!RULE_FIELDS.has(k)) rp(`field ${k} not found in type rulefmt.RuleNode`, pair.key as Node);
    }
    if (record && alert) rp("only one of 'record' and 'alert' must be set");
    if (!record && !alert) rp("one of 'record' or 'alert' must be set");
    const exprNode = r.get('expr', true) as Node | undefined;
    const expr = scalarString(exprNode);
    let ast: Expr | undefined;
    if (!expr.trim()) rp("field 'expr' must be set in rule");
    else {
      try {
        ast = parse(expr);
      } catch (e) {
        rp(`could not parse expression: ${(e as Error).message}`, exprNode);
      }
    }
    const forNode = r.get('for', true) as Node | undefined;
    const kfNode = r.get('keep_firing_for', true) as Node | undefined;
    const dur = (n: Node | undefined, key: string) => {
      if (n === undefined) return 0;
      const ms = parseDurationLiteral(scalarString(n));
      if (ms === undefined) {
        rp(`${key}: not a valid duration string: ${JSON.stringify(scalarString(n))}`, n);
        return 0;
      }
      return ms;
    };
    const forMs = dur(forNode, 'for');
    const keepFiringForMs = dur(kfNode, 'keep_firing_for');
    const labels = stringMap(r.get('labels', true) as Node | undefined, (m, n) => rp(m, n));
    const annNode = r.get('annotations', true) as Node | undefined;
    const annotations = stringMap(annNode, (m, n) => rp(m, n));
    if (record) {
      if (annNode !== undefined) rp("invalid field 'annotations' in recording rule");
      if (forNode !== undefined) rp("invalid field 'for' in recording rule");
      if (kfNode !== undefined) rp("invalid field 'keep_firing_for' in recording rule");
      if (!isValidLegacyMetricName(ruleName)) rp(`invalid recording rule name: ${ruleName}`);
    }
    for (const [ln] of labels) if (!isValidLegacyLabelName(ln) || ln === '__name__') rp(`invalid label name: ${ln}`);
    for (const [an] of annotations) if (!isValidLegacyLabelName(an)) rp(`invalid annotation name: ${an}`);
    if (alert) {
      for (const [ln, lv] of labels) {
        const err = templateSyntaxError(`__alert_${ruleName}`, lv);
        if (err) rp(`msg=${JSON.stringify(`error parsing template ${ln}: ${err}`)}`);
      }
      for (const [an, av] of annotations) {
        const err = templateSyntaxError(`__alert_${ruleName}`, av);
        if (err) rp(`msg=${JSON.stringify(`error parsing template ${an}: ${err}`)}`);
      }
    }
    if (ast && (record || alert) && !(record && alert))
      rules.push({
        kind: record ? 'recording' : 'alerting',
        name: ruleName,
        expr,
        ast,
        forMs,
        keepFiringForMs,
        labels,
        annotations,
        line: lineOf(nameNodeR),
      });
  });
  return { name, file, intervalMs, queryOffsetMs, limit, labels: groupLabels, rules };
}

function scalarString(n: Node | null | undefined): string {
  if (n === undefined || n === null) return '';
  if (isScalar(n)) return n.value === null || n.value === undefined ? '' : String(n.value);
  return String(n);
}

function stringMap(n: Node | undefined, problem: (msg: string, n: Node) => void): [string, string][] {
  if (n === undefined || (isScalar(n) && n.value === null)) return [];
  if (!isMap(n)) {
    problem('must be a map of strings', n);
    return [];
  }
  const out: [string, string][] = [];
  for (const pair of n.items) {
    const v = pair.value as Node | null;
    if (v !== null && !isScalar(v)) problem(`${scalarString(pair.key as Node)}: value must be a string`, v);
    out.push([scalarString(pair.key as Node), scalarString(v)]);
  }
  return out;
}

/** Reads and parses a rule file from disk. */
export function loadRuleFile(file: string): GroupSpec[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new RuleFileError([`${file}: ${(e as Error).message}`]);
  }
  return parseRuleFile(file, text);
}

/** What a command prints, in order: promtool writes results to stdout and failures to stderr. */
export type Printed = { stream: 'stdout' | 'stderr'; text: string }[];

/** `promtool check rules` over files: its output, and whether every file passed. */
export function checkRuleFiles(files: readonly string[]): { printed: Printed; ok: boolean } {
  const printed: Printed = [];
  let ok = true;
  for (const f of files) {
    printed.push({ stream: 'stdout', text: `Checking ${f}\n` });
    try {
      const groups = loadRuleFile(f);
      const n = groups.reduce((s, g) => s + g.rules.length, 0);
      printed.push({ stream: 'stdout', text: `  SUCCESS: ${n} rules found\n\n` });
    } catch (e) {
      if (!(e instanceof RuleFileError)) throw e;
      ok = false;
      printed.push({ stream: 'stderr', text: `  FAILED:\n${e.problems.map((p) => p + '\n').join('')}\n` });
    }
  }
  return { printed, ok };
}
