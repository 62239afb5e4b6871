/** Configuration: defaults < YAML file < command-line flags, validated against OPTIONS. */
import fs from 'node:fs';
import YAML from 'yaml';
import { OPTIONS, type OptionFlag, type OptionSpec } from './options.js';

export class ConfigError extends Error {}

/** Every accepted name, an option's own and its aliases, to the option. */
const BY_NAME = new Map<string, OptionSpec>();
for (const o of OPTIONS) {
  for (const name of [o.flag, ...(o.aliases ?? [])]) {
    if (BY_NAME.has(name)) throw new Error(`option name ${name} is defined twice`);
    BY_NAME.set(name, o);
  }
}

/** The option a flag or alias names, or undefined. */
export function optionNamed(name: string): OptionSpec | undefined {
  return BY_NAME.get(name);
}

function namesOf(o: OptionSpec): string[] {
  return [o.flag, ...(o.aliases ?? [])];
}

function ambiguous(o: OptionSpec, a: string, b: string, where: string): ConfigError {
  return new ConfigError(
    `${where}${a} and ${b} both set ${o.flag} (${namesOf(o)
      .filter((n) => n !== o.flag)
      .join(', ')} ${o.aliases!.length > 1 ? 'are aliases' : 'is an alias'} of it); keep one`,
  );
}

export type ConfigValue = string | number | boolean;

export class Config {
  constructor(private readonly values: ReadonlyMap<string, ConfigValue>) {}

  private raw(flag: OptionFlag): ConfigValue {
    if (!this.values.has(flag)) throw new Error(`unknown option ${flag}`);
    return this.values.get(flag)!;
  }
  str(flag: OptionFlag): string {
    return String(this.raw(flag));
  }
  num(flag: OptionFlag): number {
    return Number(this.raw(flag));
  }
  bool(flag: OptionFlag): boolean {
    return this.raw(flag) === true;
  }
  entries(): [string, ConfigValue][] {
    return [...this.values];
  }
}

/** YAML path of a flag: `receiver.max-request-bytes` -> ['receiver', 'max_request_bytes']. */
export function yamlPath(flag: string): string[] {
  return flag.split('.').map((p) => p.replace(/-/g, '_'));
}

export interface ParsedArgs {
  positional: string[];
  /** By the option's own name, whichever alias was given. */
  flags: Map<string, string>;
  help: boolean;
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  const givenAs = new Map<string, string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help' || a === 'help') {
      help = true;
      continue;
    }
    if (!a.startsWith('-')) {
      positional.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = BY_NAME.get(name);
    if (!spec) throw new ConfigError(`unknown flag --${name} (see strata --help)`);
    const earlier = givenAs.get(spec.flag);
    if (earlier !== undefined && earlier !== name) throw ambiguous(spec, `--${earlier}`, `--${name}`, '');
    givenAs.set(spec.flag, name);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (spec.type === 'bool' && (i + 1 >= argv.length || !/^(true|false)$/.test(argv[i + 1]))) value = 'true';
    else {
      if (i + 1 >= argv.length) throw new ConfigError(`flag --${name} needs a value`);
      value = argv[++i];
    }
    flags.set(spec.flag, spec.repeatable && flags.has(spec.flag) ? `${flags.get(spec.flag)},${value}` : value);
  }
  return { positional, flags, help };
}

/** `flags` as parseArgs returns them: by each option's own name. */
export function loadConfig(flags: ReadonlyMap<string, string>): Config {
  const values = new Map<string, ConfigValue>();
  for (const o of OPTIONS) values.set(o.flag, convert(o, o.default, 'default'));
  const file = flags.get('config.file');
  if (file) {
    let doc: unknown;
    try {
      doc = YAML.parse(fs.readFileSync(file, 'utf8')) ?? {};
    } catch (e) {
      throw new ConfigError(`cannot read --config.file ${file}: ${(e as Error).message}`);
    }
    checkUnknownKeys(doc, [], file);
    for (const o of OPTIONS) {
      let found: { key: string; v: unknown } | undefined;
      for (const name of namesOf(o)) {
        const key = yamlPath(name).join('.');
        const v = lookup(doc, yamlPath(name));
        if (v === undefined) continue;
        if (found) throw ambiguous(o, found.key, key, `${file}: `);
        found = { key, v };
      }
      if (found) values.set(o.flag, convert(o, found.v, `${file}: ${found.key}`));
    }
  }
  for (const [flag, v] of flags) {
    const o = BY_NAME.get(flag);
    if (!o || o.flag !== flag) throw new Error(`loadConfig wants flags by their own names (as parseArgs returns them), got ${flag}`);
    values.set(flag, convert(o, v, `--${flag}`));
  }
  return new Config(values);
}

function lookup(doc: unknown, path: string[]): unknown {
  let cur = doc;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

const KNOWN_PATHS = new Set(
  [...BY_NAME.keys()].flatMap((name) => {
    const p = yamlPath(name);
    return p.map((_, i) => p.slice(0, i + 1).join('.'));
  }),
);

/** A misspelt key silently ignored is a classic outage; refuse it. */
function checkUnknownKeys(doc: unknown, prefix: string[], file: string): void {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return;
  for (const [k, v] of Object.entries(doc)) {
    const path = [...prefix, k];
    if (!KNOWN_PATHS.has(path.join('.'))) throw new ConfigError(`${file}: unknown configuration key ${path.join('.')}`);
    checkUnknownKeys(v, path, file);
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000, y: 31536000000 };
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

export function parseDuration(s: string): number {
  if (/^-?\d+$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== s.length || s.length === 0) throw new ConfigError(`invalid duration ${JSON.stringify(s)} (want e.g. 30s, 5m, 1h30m)`);
  return total;
}

export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(s.trim());
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(`invalid size ${JSON.stringify(s)} (want e.g. 32MiB, 1GB, 1048576)`);
  return Math.floor(Number(m[1]) * unit);
}

function convert(o: OptionSpec, v: unknown, where: string): ConfigValue {
  const s = String(v);
  const fail = (want: string): never => {
    throw new ConfigError(`${where}: invalid value ${JSON.stringify(s)} for ${o.flag}: want ${want}`);
  };
  switch (o.type) {
    case 'string':
      return s;
    case 'bool':
      if (v === true || s === 'true') return true;
      if (v === false || s === 'false') return false;
      return fail('true or false');
    case 'int': {
      const n = Number(s.replace(/_/g, ''));
      return Number.isInteger(n) ? n : fail('an integer');
    }
    case 'float': {
      const n = Number(s);
      return Number.isFinite(n) ? n : fail('a number');
    }
    case 'enum':
      return o.values!.includes(s) ? s : fail(`one of ${o.values!.join(', ')}`);
    case 'duration':
      try {
        return typeof v === 'number' ? v * 1000 : parseDuration(s);
      } catch (e) {
        return fail((e as Error).message);
      }
    case 'bytes':
      try {
        return typeof v === 'number' ? v : parseBytes(s);
      } catch (e) {
        return fail((e as Error).message);
      }
  }
}
