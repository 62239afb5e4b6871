/**
 * Relabelling with Prometheus' `relabel_configs` semantics (the rules of `write_relabel_configs`
 * and `metric_relabel_configs`): anchored RE2 regexes, Go's `$1`/`${name}` expansion, a label
 * set to the empty string is removed. Rules are parsed once (parseRelabelConfigs) and applied to
 * a series' label pairs (relabel); an invalid rule is refused with the reason Prometheus gives.
 */
import { createHash } from 'node:crypto';
import { compareStrings } from './labels.js';
import { compileRegex, type CompiledRegex, type RegexGroups } from './regex.js';

export const RELABEL_ACTIONS = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
] as const;
export type RelabelAction = (typeof RELABEL_ACTIONS)[number];

export interface RelabelRule {
  readonly action: RelabelAction;
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  readonly regex: CompiledRegex;
  readonly modulus: number;
  readonly targetLabel: string;
  readonly replacement: string;
}

/** A rule that cannot be used; `path` names the offending rule and key (e.g. [2, 'regex']) for positions in files. */
export class RelabelConfigError extends Error {
  constructor(
    message: string,
    readonly path: readonly (string | number)[],
  ) {
    super(message);
  }
}

const DEFAULT_REGEX = '(.*)';
const DEFAULT_SEPARATOR = ';';
const DEFAULT_REPLACEMENT = '$1';
const KEYS = new Set(['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action']);

/** Parses a YAML/JSON list of relabel configs as Prometheus reads them (strictly: unknown keys are errors). */
export function parseRelabelConfigs(raw: unknown): RelabelRule[] {
  if (raw === null || raw === undefined) return [];
  if (!Array.isArray(raw)) throw new RelabelConfigError('relabel configs must be a list', []);
  return raw.map((r, i) => parseRule(r, i));
}

function parseRule(raw: unknown, i: number): RelabelRule {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new RelabelConfigError('a relabel config must be a mapping', [i]);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new RelabelConfigError(`field ${k} not found in relabel config`, [i, k]);
  const str = (k: string, def: string): string => {
    const v = o[k];
    if (v === undefined || v === null) return def;
    if (typeof v === 'object') throw new RelabelConfigError(`${k} must be a string`, [i, k]);
    return String(v);
  };
  const actionRaw = str('action', 'replace');
  const action = actionRaw.toLowerCase() as RelabelAction;
  if (actionRaw === '') throw new RelabelConfigError('relabel action cannot be empty', [i, 'action']);
  if (!RELABEL_ACTIONS.includes(action)) throw new RelabelConfigError(`unknown relabel action ${JSON.stringify(actionRaw)}`, [i, 'action']);
  let sourceLabels: string[] = [];
  if (o.source_labels !== undefined && o.source_labels !== null) {
    if (!Array.isArray(o.source_labels)) throw new RelabelConfigError('source_labels must be a list of label names', [i, 'source_labels']);
    sourceLabels = o.source_labels.map((x, k) => {
      if (typeof x !== 'string' || x === '')
        throw new RelabelConfigError(`${JSON.stringify(x)} is not a valid label name`, [i, 'source_labels', k]);
      return x;
    });
  }
  const separator = str('separator', DEFAULT_SEPARATOR);
  const regexSource = str('regex', DEFAULT_REGEX);
  let regex: CompiledRegex;
  try {
    regex = compileRegex(regexSource);
  } catch (e) {
    throw new RelabelConfigError(`invalid regex ${JSON.stringify(regexSource)}: ${(e as Error).message}`, [i, 'regex']);
  }
  let modulus = 0;
  if (o.modulus !== undefined && o.modulus !== null) {
    modulus = Number(o.modulus);
    if (!Number.isSafeInteger(modulus) || modulus < 0)
      throw new RelabelConfigError(`modulus must be a non-negative integer, got ${JSON.stringify(o.modulus)}`, [i, 'modulus']);
  }
  const targetLabel = str('target_label', '');
  const replacement = str('replacement', DEFAULT_REPLACEMENT);
  const rule: RelabelRule = { action, sourceLabels, separator, regex, modulus, targetLabel, replacement };
  validate(rule, o, i);
  return rule;
}

/** The checks of Prometheus' relabel.Config.Validate, with its messages. */
function validate(r: RelabelRule, o: Record<string, unknown>, i: number): void {
  const fail = (msg: string, key: string) => {
    throw new RelabelConfigError(msg, [i, key]);
  };
  if (r.action === 'hashmod' && r.modulus === 0) fail('relabel configuration for hashmod requires non-zero modulus', 'modulus');
  const needsTarget: RelabelAction[] = ['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal'];
  if (needsTarget.includes(r.action) && r.targetLabel === '')
    fail(`relabel configuration for ${r.action} action requires 'target_label' value`, 'target_label');
  if ((r.action === 'lowercase' || r.action === 'uppercase') && r.replacement !== DEFAULT_REPLACEMENT)
    fail(`'replacement' can not be set for ${r.action} action`, 'replacement');
  if ((r.action === 'lowercase' || r.action === 'uppercase' || r.action === 'hashmod') && r.targetLabel.includes('$'))
    fail(`${JSON.stringify(r.targetLabel)} is invalid 'target_label' for ${r.action} action`, 'target_label');
  if (r.action === 'keepequal' || r.action === 'dropequal') {
    for (const k of ['regex', 'modulus', 'separator', 'replacement'])
      if (o[k] !== undefined && o[k] !== null && !isDefault(k, o[k]))
        fail(`${r.action} action requires only 'source_labels' and 'target_label', and no other fields`, k);
  }
  if (r.action === 'labeldrop' || r.action === 'labelkeep') {
    for (const k of ['source_labels', 'modulus', 'separator', 'replacement', 'target_label'])
      if (o[k] !== undefined && o[k] !== null && !isDefault(k, o[k]))
        fail(`${r.action} action requires only 'regex', and no other fields`, k);
  }
}

function isDefault(key: string, v: unknown): boolean {
  switch (key) {
    case 'regex':
      return String(v) === DEFAULT_REGEX;
    case 'modulus':
      return Number(v) === 0;
    case 'separator':
      return String(v) === DEFAULT_SEPARATOR;
    case 'replacement':
      return String(v) === DEFAULT_REPLACEMENT;
    case 'source_labels':
      return Array.isArray(v) && v.length === 0;
    default:
      return String(v) === '';
  }
}

/**
 * Applies the rules to a series' label pairs [name, value, ...] (any order, unique names).
 * Returns the input array itself when nothing changed, a new pairs array when labels changed
 * (sorted by name; empty values removed), or null when a rule dropped the series.
 */
export function relabel(pairs: readonly string[], rules: readonly RelabelRule[]): readonly string[] | null {
  if (rules.length === 0) return pairs;
  const b = new PairsBuilder(pairs);
  for (const r of rules) if (!apply(r, b)) return null;
  if (!b.changed) return pairs;
  // Rules that add and later remove a label (hashmod into a temporary label) leave it as it was.
  const out = b.result();
  return sameSet(out, pairs) ? pairs : out;
}

/** Whether sorted `out` holds exactly the non-empty pairs of `pairs` (any order, unique names). */
function sameSet(out: readonly string[], pairs: readonly string[]): boolean {
  let n = 0;
  for (let i = 1; i < pairs.length; i += 2) if (pairs[i] !== '') n += 2;
  if (n !== out.length) return false;
  for (let i = 0; i < pairs.length; i += 2) {
    if (pairs[i + 1] === '') continue;
    let k = 0;
    while (k < out.length && out[k] !== pairs[i]) k += 2;
    if (k >= out.length || out[k + 1] !== pairs[i + 1]) return false;
  }
  return true;
}

/** A mutable label set over a flat pairs array; deletion marks a value undefined until result(). */
class PairsBuilder {
  private readonly names: string[] = [];
  private readonly values: (string | undefined)[] = [];
  changed = false;

  constructor(pairs: readonly string[]) {
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i + 1] === '') continue; // an empty value is no label (and changes nothing when dropped)
      this.names.push(pairs[i]);
      this.values.push(pairs[i + 1]);
    }
  }

  get(name: string): string {
    const i = this.names.indexOf(name);
    return i < 0 ? '' : (this.values[i] ?? '');
  }

  /** Setting the empty string removes the label, as Prometheus' labels.Builder does. */
  set(name: string, value: string): void {
    const i = this.names.indexOf(name);
    if (i < 0) {
      if (value === '') return;
      this.names.push(name);
      this.values.push(value);
      this.changed = true;
      return;
    }
    const v = value === '' ? undefined : value;
    if (this.values[i] === v) return;
    this.values[i] = v;
    this.changed = true;
  }

  /** The labels present now, as [name, value] snapshots (rules that visit labels see the set as it was). */
  present(): [string, string][] {
    const out: [string, string][] = [];
    for (let i = 0; i < this.names.length; i++) {
      const v = this.values[i];
      if (v !== undefined) out.push([this.names[i], v]);
    }
    return out;
  }

  /** Sorted by name, as Prometheus' builder returns labels (remote-write 2.0 requires that order). */
  result(): string[] {
    const order: number[] = [];
    for (let i = 0; i < this.names.length; i++) if (this.values[i] !== undefined) order.push(i);
    order.sort((a, b) => compareStrings(this.names[a], this.names[b]));
    const out: string[] = new Array(order.length * 2);
    for (let k = 0; k < order.length; k++) {
      out[2 * k] = this.names[order[k]];
      out[2 * k + 1] = this.values[order[k]]!;
    }
    return out;
  }
}

function sourceValue(r: RelabelRule, b: PairsBuilder): string {
  const s = r.sourceLabels;
  if (s.length === 1) return b.get(s[0]);
  let v = '';
  for (let k = 0; k < s.length; k++) v += (k > 0 ? r.separator : '') + b.get(s[k]);
  return v;
}

/** One rule; false when it drops the series. */
function apply(r: RelabelRule, b: PairsBuilder): boolean {
  switch (r.action) {
    case 'drop':
      return !r.regex.test(sourceValue(r, b));
    case 'keep':
      return r.regex.test(sourceValue(r, b));
    case 'dropequal':
      return b.get(r.targetLabel) !== sourceValue(r, b);
    case 'keepequal':
      return b.get(r.targetLabel) === sourceValue(r, b);
    case 'replace': {
      const m = r.regex.exec(sourceValue(r, b));
      if (!m) return true;
      const target = r.targetLabel.includes('$') ? expandGo(r.targetLabel, m) : r.targetLabel;
      // Prometheus 3 takes any non-empty UTF-8 name; an expansion to nothing changes nothing.
      if (target === '') return true;
      b.set(target, r.replacement.includes('$') ? expandGo(r.replacement, m) : r.replacement);
      return true;
    }
    case 'lowercase':
      b.set(r.targetLabel, goCase(sourceValue(r, b), false));
      return true;
    case 'uppercase':
      b.set(r.targetLabel, goCase(sourceValue(r, b), true));
      return true;
    case 'hashmod':
      b.set(r.targetLabel, hashMod(sourceValue(r, b), r.modulus));
      return true;
    case 'labelmap':
      for (const [name, value] of b.present()) {
        const m = r.regex.exec(name);
        if (m) b.set(expandGo(r.replacement, m), value);
      }
      return true;
    case 'labeldrop':
      for (const [name] of b.present()) if (r.regex.test(name)) b.set(name, '');
      return true;
    case 'labelkeep':
      for (const [name] of b.present()) if (!r.regex.test(name)) b.set(name, '');
      return true;
  }
}

/** md5 of the value, its last 8 bytes as a big-endian uint64, modulo m (Prometheus' hashmod). */
export function hashMod(value: string, m: number): string {
  const d = createHash('md5').update(value, 'utf8').digest();
  return (d.readBigUInt64BE(8) % BigInt(m)).toString();
}

/**
 * Go's strings.ToLower/ToUpper map each code point on its own (no "ß" -> "SS"); JavaScript's
 * full case mapping is used where it gives one code point, else the code point stays.
 */
function goCase(s: string, upper: boolean): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++)
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  if (ascii) return upper ? s.toUpperCase() : s.toLowerCase();
  let out = '';
  for (const c of s) {
    const m = upper ? c.toUpperCase() : c.toLowerCase();
    out += [...m].length === 1 ? m : c;
  }
  return out;
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/**
 * Go's Regexp.Expand: `$name` or `${name}` (name: letters, digits, underscores, as long as
 * possible); a name of ASCII digits without a leading zero is a group number; `$$` is a `$`; an
 * unknown or unmatched group expands to nothing; a `$` that starts no valid reference stays.
 */
export function expandGo(template: string, m: RegexGroups): string {
  let out = '';
  let i = 0;
  for (;;) {
    const d = template.indexOf('$', i);
    if (d < 0) return out + template.slice(i);
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    const brace = template[i] === '{';
    let j = brace ? i + 1 : i;
    const nameStart = j;
    while (j < template.length) {
      const cp = template.codePointAt(j)!;
      const c = String.fromCodePoint(cp);
      if (!NAME_CHAR.test(c)) break;
      j += c.length;
    }
    const name = template.slice(nameStart, j);
    if (name === '' || (brace && template[j] !== '}')) {
      out += '$'; // malformed: the `$` is text
      continue;
    }
    i = brace ? j + 1 : j;
    out += m.group(groupRef(name)) ?? '';
  }
}

function groupRef(name: string): number | string {
  if (!/^[0-9]+$/.test(name) || (name.length > 1 && name[0] === '0') || name.length > 9) return name;
  return Number(name);
}
