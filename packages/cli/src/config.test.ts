import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError, loadConfig, optionNamed, parseArgs, parseBytes, parseDuration, yamlPath } from './config.js';
import { LIMIT_FLAGS, LIMIT_YAML_KEYS, QUERY_LIMIT_FLAGS } from '@strata/api';
import { OPTIONS } from './options.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-cfg-'));
let n = 0;
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function cfgFile(text: string): string {
  const f = path.join(dir, `strata-${n++}.yml`);
  fs.writeFileSync(f, text);
  return f;
}

describe('configuration', () => {
  test('defaults', () => {
    const c = loadConfig(new Map());
    expect(c.str('http.address')).toBe('0.0.0.0:9009');
    expect(c.str('storage.path')).toBe('./data');
    expect(c.str('wal.fsync')).toBe('batch');
    expect(c.num('receiver.max-request-bytes')).toBe(32 * 1024 * 1024);
    expect(c.num('receiver.out-of-order-window')).toBe(30 * 60_000);
    expect(c.bool('auth.multitenancy-enabled')).toBe(false);
  });

  test('file < flags precedence', () => {
    const f = cfgFile('http:\n  address: 127.0.0.1:1234\nstorage:\n  path: /tmp/x\nreceiver:\n  max_request_bytes: 1MiB\n');
    const { flags } = parseArgs([`--config.file=${f}`, '--storage.path', '/tmp/y']);
    const c = loadConfig(flags);
    expect(c.str('http.address')).toBe('127.0.0.1:1234');
    expect(c.str('storage.path')).toBe('/tmp/y');
    expect(c.num('receiver.max-request-bytes')).toBe(1024 * 1024);
  });

  test('every option has a YAML key derived from its flag, and its default converts', () => {
    for (const o of OPTIONS) {
      expect(yamlPath(o.flag).every((p) => /^[a-z0-9_]+$/.test(p))).toBe(true);
      const f = cfgFile(`${yamlPath(o.flag)[0]}:\n  ${yamlPath(o.flag).slice(1).join('.')}: ${JSON.stringify(o.default)}\n`);
      expect(() => loadConfig(new Map([['config.file', f]]))).not.toThrow();
    }
  });

  /** A value that converts for the option's type and differs from its default. */
  function sample(o: (typeof OPTIONS)[number]): string {
    switch (o.type) {
      case 'bool':
        return String(!o.default);
      case 'int':
      case 'float':
        return String(Number(o.default) + 7);
      case 'duration':
        return '17s';
      case 'bytes':
        return '3MiB';
      case 'enum':
        return o.values!.find((v) => v !== o.default)!;
      case 'string':
        return 'from-an-alias';
    }
  }
  const aliasCases = OPTIONS.flatMap((o) => (o.aliases ?? []).map((a) => [a, o.flag, o] as const));

  test("the receiver takes Thanos' and Mimir's names among its aliases", () => {
    for (const [name, own] of [
      ['receive.hashrings-file', 'receiver.hashrings-file'],
      ['receive.replication-factor', 'receiver.replication-factor'],
      ['receive.local-endpoint', 'receiver.local-endpoint'],
      ['receive-forward-timeout', 'receiver.forward-timeout'],
      ['receive.tenant-label-name', 'receiver.tenant-label'],
      ['distributor.ingestion-rate-limit', 'limits.ingestion-rate'],
      ['ingester.max-global-series-per-user', 'limits.max-global-series-per-user'],
      ['validation.max-length-label-name', 'limits.max-label-name-length'],
    ])
      expect(optionNamed(name)?.flag).toBe(own);
    expect(aliasCases.length).toBeGreaterThan(20);
  });

  /** A configuration file setting each option name to its value, nested as yamlPath says. */
  function fileSetting(settings: [string, string][]): string {
    const doc: Record<string, unknown> = {};
    for (const [name, v] of settings) {
      const p = yamlPath(name);
      let cur = doc;
      for (const k of p.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
      cur[p[p.length - 1]] = v;
    }
    return cfgFile(YAML.stringify(doc));
  }
  const valueOf = (c: ReturnType<typeof loadConfig>, own: string) => c.entries().find(([k]) => k === own)![1];

  test.each(aliasCases)('alias --%s sets %s, as a flag and as a YAML key', (alias, own, o) => {
    const v = sample(o);
    const want = valueOf(loadConfig(parseArgs([`--${own}=${v}`]).flags), own);
    expect(want).not.toEqual(valueOf(loadConfig(new Map()), own));
    expect(valueOf(loadConfig(parseArgs([`--${alias}=${v}`]).flags), own)).toEqual(want);
    expect(valueOf(loadConfig(new Map([['config.file', fileSetting([[alias, v]])]])), own)).toEqual(want);
  });

  test.each(aliasCases)('--%s and --%s both given is refused as ambiguous, as flags and as YAML keys', (alias, own, o) => {
    const v = sample(o);
    expect(() => parseArgs([`--${own}=${v}`, `--${alias}=${v}`])).toThrow(`--${own} and --${alias} both set ${own}`);
    const f = fileSetting([
      [own, v],
      [alias, v],
    ]);
    expect(() => loadConfig(new Map([['config.file', f]]))).toThrow(
      `${f}: ${yamlPath(own).join('.')} and ${yamlPath(alias).join('.')} both set ${own}`,
    );
  });

  test('two aliases of one option are ambiguous too, and a flag under any name still overrides the file', () => {
    expect(() => parseArgs(['--validation.max-length-label-name=5', '--validation.max-label-name-length=6'])).toThrow(
      /both set limits.max-label-name-length/,
    );
    const f = cfgFile('receiver:\n  hashrings_file: a.json\nreceive:\n  hashrings_file: b.json\n');
    expect(() => loadConfig(new Map([['config.file', f]]))).toThrow(
      new RegExp(`${f}: receiver.hashrings_file and receive.hashrings_file both set receiver.hashrings-file`),
    );
    const g = cfgFile('receiver:\n  hashrings_file: a.json\n');
    expect(loadConfig(parseArgs([`--config.file=${g}`, '--receive.hashrings-file=b.json']).flags).str('receiver.hashrings-file')).toBe(
      'b.json',
    );
    // Giving the same name twice is no ambiguity: the last wins, as before.
    expect(
      loadConfig(parseArgs(['--receive.replication-factor=2', '--receive.replication-factor=3']).flags).num('receiver.replication-factor'),
    ).toBe(3);
    // A list option given several times keeps every value, as a YAML list does.
    expect(
      loadConfig(parseArgs(['--compactor.replica-label=a', '--compactor.replica-label', 'b']).flags).str('compactor.replica-label'),
    ).toBe('a,b');
    expect(loadConfig(new Map([['config.file', cfgFile('compactor:\n  replica_label: [a, b]\n')]])).str('compactor.replica-label')).toBe(
      'a,b',
    );
  });

  test('each per-tenant limit has one name: its flag is limits.<overrides key>, and rejections name a flag that exists', () => {
    const fields = Object.keys(LIMIT_FLAGS) as (keyof typeof LIMIT_FLAGS)[];
    expect(fields.length).toBe(12);
    for (const f of fields) {
      expect(optionNamed(LIMIT_FLAGS[f])?.flag).toBe(LIMIT_FLAGS[f]);
      expect(yamlPath(LIMIT_FLAGS[f])).toEqual(['limits', LIMIT_YAML_KEYS[f]]);
    }
    const queryFields = Object.keys(QUERY_LIMIT_FLAGS) as (keyof typeof QUERY_LIMIT_FLAGS)[];
    expect(queryFields.length).toBe(9);
    for (const f of queryFields) {
      expect(optionNamed(QUERY_LIMIT_FLAGS[f])?.flag).toBe(QUERY_LIMIT_FLAGS[f]);
      expect(yamlPath(QUERY_LIMIT_FLAGS[f])).toEqual(['limits', LIMIT_YAML_KEYS[f]]);
    }
  });

  test("no two options share a name, and no YAML key of one is a parent of another's", () => {
    const names = OPTIONS.flatMap((o) => [o.flag, ...(o.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
    const paths = names.map((n) => yamlPath(n).join('.'));
    for (const a of paths) for (const b of paths) expect(b.startsWith(`${a}.`)).toBe(false);
  });

  test.each([
    [['--nope=1'], /unknown flag --nope/],
    [['--wal.fsync=sometimes'], /one of batch, none/],
    [['--receiver.creation-grace-period=soon'], /invalid duration/],
    [['--receiver.max-request-bytes=lots'], /invalid size/],
    [['--limits.max-label-names-per-series=1.5'], /an integer/],
  ])('bad flags %j are refused clearly', (argv, msg) => {
    expect(() => loadConfig(parseArgs(argv).flags)).toThrow(msg);
  });

  test('an unknown YAML key is refused, not ignored', () => {
    const f = cfgFile('http:\n  adress: 1.2.3.4:5\n');
    expect(() => loadConfig(new Map([['config.file', f]]))).toThrow(ConfigError);
    expect(() => loadConfig(new Map([['config.file', f]]))).toThrow(/unknown configuration key http.adress/);
  });

  test('boolean flags with and without values', () => {
    expect(loadConfig(parseArgs(['--auth.multitenancy-enabled']).flags).bool('auth.multitenancy-enabled')).toBe(true);
    expect(loadConfig(parseArgs(['--auth.multitenancy-enabled', 'false']).flags).bool('auth.multitenancy-enabled')).toBe(false);
    expect(parseArgs(['all', '--auth.multitenancy-enabled', 'receiver']).positional).toEqual(['all', 'receiver']);
  });

  test.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['100ms', 100],
    ['2d', 172_800_000],
    ['0', 0],
    ['15', 15_000],
  ])('duration %s = %d ms', (s, ms) => expect(parseDuration(s)).toBe(ms));

  test.each([
    ['32MiB', 32 * 1024 * 1024],
    ['1GB', 1e9],
    ['1048576', 1048576],
    ['512 KiB', 512 * 1024],
  ])('size %s = %d bytes', (s, n) => expect(parseBytes(s)).toBe(n));
});
