import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { compileRegex } from './regex.js';
import { expandGo, hashMod, parseRelabelConfigs, relabel, RelabelConfigError } from './relabel.js';

/** Labels as an object (sorted pairs in, the result back as an object, null when dropped). */
function run(input: Record<string, string>, rules: unknown[]): Record<string, string> | null {
  const out = relabel(Object.entries(input).flat(), parseRelabelConfigs(rules));
  if (out === null) return null;
  const o: Record<string, string> = {};
  for (let i = 0; i < out.length; i += 2) o[out[i]] = out[i + 1];
  return o;
}

const base = { __name__: 'http_requests_total', job: 'api', instance: 'a:9090', path: '/Users/42', user_id: '42' };

// Expected outputs follow Prometheus' documented relabel_config semantics (defaults: action
// replace, separator ";", regex "(.*)" anchored, replacement "$1").
const cases: [string, unknown[], Record<string, string> | null][] = [
  [
    'replace with defaults copies the joined sources',
    [{ source_labels: ['job', 'instance'], target_label: 'both' }],
    { ...base, both: 'api;a:9090' },
  ],
  [
    'replace: custom separator',
    [{ source_labels: ['job', 'instance'], separator: '/', target_label: 'both' }],
    { ...base, both: 'api/a:9090' },
  ],
  [
    'replace: groups and ${n}',
    [{ source_labels: ['instance'], regex: '(.*):(\\d+)', target_label: 'port', replacement: '${2}-$1' }],
    { ...base, port: '9090-a' },
  ],
  ['replace: regex is anchored (no partial match)', [{ source_labels: ['job'], regex: 'p', target_label: 'x', replacement: 'y' }], base],
  [
    'replace: empty result deletes the target',
    [{ source_labels: ['nope'], target_label: 'user_id' }],
    (({ user_id: _u, ...r }) => r)(base),
  ],
  ['replace: constant label', [{ target_label: 'env', replacement: 'prod' }], { ...base, env: 'prod' }],
  [
    'replace: target from groups',
    [{ source_labels: ['job'], regex: '(a)(p)i', target_label: 'l_$1', replacement: '$2' }],
    { ...base, l_a: 'p' },
  ],
  [
    'replace: $1x is group "1x" (empty), ${1}x is group 1 then x',
    [{ source_labels: ['job'], target_label: 'a', replacement: '$1x|${1}x' }],
    { ...base, a: '|apix' },
  ],
  ['replace: $$ is a dollar', [{ source_labels: ['job'], target_label: 'a', replacement: '$$1' }], { ...base, a: '$1' }],
  [
    'replace: named group',
    [{ source_labels: ['instance'], regex: '(?P<host>[^:]+):.*', target_label: 'host', replacement: '$host' }],
    { ...base, host: 'a' },
  ],
  ['replace: a lone $ stays', [{ source_labels: ['job'], target_label: 'a', replacement: 'x$' }], { ...base, a: 'x$' }],
  ['replace: . matches newlines', [{ source_labels: ['nl'], regex: 'a.b', target_label: 'm', replacement: 'yes' }], { ...base, m: 'yes' }],
  ['keep: match keeps', [{ source_labels: ['__name__'], regex: 'http_.*', action: 'keep' }], base],
  ['keep: no match drops', [{ source_labels: ['__name__'], regex: 'grpc_.*', action: 'keep' }], null],
  ['keep: missing label is the empty string', [{ source_labels: ['absent'], regex: '', action: 'keep' }], base],
  ['drop: match drops', [{ source_labels: ['job', 'user_id'], regex: 'api;4.', action: 'drop' }], null],
  ['drop: no match keeps', [{ source_labels: ['job'], regex: 'db', action: 'drop' }], base],
  ['action is case-insensitive', [{ source_labels: ['job'], regex: 'api', action: 'DROP' }], null],
  ['keepequal: equal keeps', [{ source_labels: ['user_id'], target_label: 'uid', action: 'keepequal' }], null],
  ['keepequal: equal values', [{ source_labels: ['job'], target_label: 'job', action: 'keepequal' }], base],
  ['dropequal: equal drops', [{ source_labels: ['job'], target_label: 'job', action: 'dropequal' }], null],
  ['dropequal: different keeps', [{ source_labels: ['job'], target_label: 'instance', action: 'dropequal' }], base],
  [
    'hashmod',
    [{ source_labels: ['instance'], modulus: 8, target_label: 'shard', action: 'hashmod' }],
    { ...base, shard: hashMod('a:9090', 8) },
  ],
  ['labelmap', [{ regex: 'user_(.*)', replacement: 'u_$1', action: 'labelmap' }], { ...base, u_id: '42' }],
  [
    'labelmap sees the labels as they were',
    [{ regex: '(.*)', replacement: 'x_$1', action: 'labelmap' }],
    Object.fromEntries([...Object.entries(base), ...Object.entries(base).map(([k, v]) => [`x_${k}`, v])]),
  ],
  ['labeldrop', [{ regex: 'user_id|instance', action: 'labeldrop' }], { __name__: base.__name__, job: 'api', path: '/Users/42' }],
  ['labelkeep', [{ regex: '__name__|job', action: 'labelkeep' }], { __name__: base.__name__, job: 'api' }],
  ['lowercase', [{ source_labels: ['path'], target_label: 'path', action: 'lowercase' }], { ...base, path: '/users/42' }],
  ['uppercase', [{ source_labels: ['job', 'path'], target_label: 'up', action: 'uppercase' }], { ...base, up: 'API;/USERS/42' }],
  [
    'uppercase maps code point by code point (ß stays)',
    [{ source_labels: ['de'], target_label: 'de', action: 'uppercase' }],
    { ...base, de: 'STRAßE' },
  ],
  [
    'rules apply in order',
    [
      { source_labels: ['user_id'], regex: '(\\d)\\d*', target_label: 'user_bucket', replacement: '${1}xx' },
      { regex: 'user_id', action: 'labeldrop' },
      { source_labels: ['user_bucket'], regex: '4xx', action: 'keep' },
    ],
    { ...(({ user_id: _u, ...r }) => r)(base), user_bucket: '4xx' },
  ],
];

describe('relabel (Prometheus relabel_config semantics)', () => {
  test.each(cases)('%s', (_name, rules, want) => {
    const input: Record<string, string> = { ...base };
    if (_name.includes('newlines')) input.nl = 'a\nb';
    if (_name.includes('ß')) input.de = 'straße';
    const got = run(input, rules);
    if (want !== null) {
      if (input.nl) want = { ...want, nl: 'a\nb' };
      if (input.de && !('de' in want)) want = { ...want, de: 'straße' };
    }
    expect(got).toEqual(want);
  });

  test('no change returns the input array itself; a change returns sorted pairs', () => {
    const pairs = ['__name__', 'm', 'b', '1', 'a', '2'];
    expect(relabel(pairs, parseRelabelConfigs([{ source_labels: ['b'], regex: '0', action: 'drop' }]))).toBe(pairs);
    expect(relabel(pairs, parseRelabelConfigs([{ target_label: 'c', replacement: '3' }]))).toEqual([
      '__name__',
      'm',
      'a',
      '2',
      'b',
      '1',
      'c',
      '3',
    ]);
    const addThenRemove = [
      { source_labels: ['a'], modulus: 4, target_label: '__tmp_shard', action: 'hashmod' },
      { regex: '__tmp_.*', action: 'labeldrop' },
    ];
    expect(relabel(pairs, parseRelabelConfigs(addThenRemove))).toBe(pairs);
  });

  test('hashmod is md5, last 8 bytes big-endian, modulo (uint64 range)', () => {
    // The last 8 bytes of an md5 read as a uint64 are usually above 2^53: exact arithmetic is needed.
    const n = BigInt('0x' + createHash('md5').update('x').digest('hex').slice(16));
    expect(hashMod('x', 1_000_003)).toBe((n % 1_000_003n).toString());
    fc.assert(fc.property(fc.string(), fc.integer({ min: 1, max: 2 ** 40 }), (s, m) => Number(hashMod(s, m)) < m));
  });
});

describe('expandGo (Go Regexp.Expand)', () => {
  const m = compileRegex('(?P<first>a)(b)?(c)').exec('ac')!;
  test.each([
    ['$1', 'a'],
    ['${1}', 'a'],
    ['$first', 'a'],
    ['${first}x', 'ax'],
    ['$firstx', ''],
    ['$2', ''], // unmatched group
    ['$3$3', 'cc'],
    ['$9', ''], // out of range
    ['$01', ''], // a leading zero makes it a name
    ['$$', '$'],
    ['${1', '${1'],
    ['$-', '$-'],
    ['x$', 'x$'],
    ['$é', ''], // letters of any script form names
  ])('%s -> %s', (t, want) => expect(expandGo(t, m)).toBe(want));
});

describe('parseRelabelConfigs refuses what Prometheus refuses', () => {
  test.each([
    [[{ action: 'explode' }], /unknown relabel action "explode"/, [0, 'action']],
    [[{ action: '' }], /relabel action cannot be empty/, [0, 'action']],
    [[{ target_label: 'ok' }, { source_labels: ['a'], regex: '(a+', target_label: 'b' }], /invalid regex "\(a\+"/, [1, 'regex']],
    [[{ regex: '(?=lookahead)', action: 'drop', source_labels: ['a'] }], /invalid regex/, [0, 'regex']],
    [[{ regex: '(a)\\1', action: 'drop', source_labels: ['a'] }], /invalid regex/, [0, 'regex']],
    [[{ action: 'hashmod', target_label: 'x' }], /requires non-zero modulus/, [0, 'modulus']],
    [[{ action: 'replace', source_labels: ['a'] }], /requires 'target_label' value/, [0, 'target_label']],
    [
      [{ action: 'lowercase', source_labels: ['a'], target_label: 'b', replacement: 'x' }],
      /'replacement' can not be set/,
      [0, 'replacement'],
    ],
    [
      [{ action: 'keepequal', source_labels: ['a'], target_label: 'b', regex: 'x' }],
      /requires only 'source_labels' and 'target_label'/,
      [0, 'regex'],
    ],
    [[{ action: 'labeldrop', regex: 'x', target_label: 'b' }], /requires only 'regex'/, [0, 'target_label']],
    [[{ action: 'drop', sourcelabels: ['a'] }], /field sourcelabels not found/, [0, 'sourcelabels']],
    [[{ action: 'drop', source_labels: 'a' }], /must be a list/, [0, 'source_labels']],
    [{ action: 'drop' }, /must be a list/, []],
  ])('%j', (rules, msg, path) => {
    let err: unknown;
    try {
      parseRelabelConfigs(rules);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RelabelConfigError);
    expect((err as Error).message).toMatch(msg);
    expect((err as RelabelConfigError).path).toEqual(path);
  });

  test('defaults', () => {
    const [r] = parseRelabelConfigs([{ target_label: 't' }]);
    expect(r).toMatchObject({ action: 'replace', separator: ';', replacement: '$1', modulus: 0, sourceLabels: [] });
    expect(r.regex.source).toBe('(.*)');
  });
});
