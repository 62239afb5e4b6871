import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseArgs, parseBytes, parseDuration, yamlPath } from './config.js';
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

  test.each([
    [['--nope=1'], /unknown flag --nope/],
    [['--wal.fsync=sometimes'], /one of batch, none/],
    [['--receiver.creation-grace-period=soon'], /invalid duration/],
    [['--receiver.max-request-bytes=lots'], /invalid size/],
    [['--validation.max-label-names-per-series=1.5'], /an integer/],
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
    ['30s', 30_000], ['5m', 300_000], ['1h30m', 5_400_000], ['100ms', 100], ['2d', 172_800_000], ['0', 0], ['15', 15_000],
  ])('duration %s = %d ms', (s, ms) => expect(parseDuration(s)).toBe(ms));

  test.each([
    ['32MiB', 32 * 1024 * 1024], ['1GB', 1e9], ['1048576', 1048576], ['512 KiB', 512 * 1024],
  ])('size %s = %d bytes', (s, n) => expect(parseBytes(s)).toBe(n));
});
