import { isIP } from 'node:net';
import fc from 'fast-check';
import { ipMatcher, lineHasIp, parseAddr } from './ip-filter.js';

describe('parseAddr reads addresses as Go netip.ParseAddr does', () => {
  test.each([
    ['192.168.0.1', 32, 0xc0a80001n],
    ['0.0.0.0', 32, 0n],
    ['255.255.255.255', 32, 0xffffffffn],
    ['::', 128, 0n],
    ['::1', 128, 1n],
    ['1::', 128, 1n << 112n],
    ['2001:db8::8', 128, 0x20010db8000000000000000000000008n],
    ['2001:DB8:0:0:0:0:0:8', 128, 0x20010db8000000000000000000000008n],
    ['1:2:3:4:5:6:7::', 128, 0x00010002000300040005000600070000n],
    ['::ffff:10.0.0.1', 128, 0xffff0a000001n],
    ['1:2:3:4:5:6:1.2.3.4', 128, 0x00010002000300040005000601020304n],
    ['fe80::1%eth0', 128, 0xfe800000000000000000000000000001n],
  ])('%s', (s, bits, value) => {
    expect(parseAddr(s)).toMatchObject({ bits, value });
  });

  test.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4', // leading zeros are refused, not read as octal
    '1.2.3.256',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1.2.3.4%eth0',
    '1..2.3',
    ':1',
    '1:',
    ':::',
    '1:::2',
    '1::2::3',
    '12345::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7::8', // :: must stand for at least one group
    '1:2:3:4:5:6:7:8::',
    '1:2:3:4:5:1.2.3.4', // an IPv4 tail must be the last 32 bits
    '::1.2.3',
    'fe80::1%',
    'g::1',
  ])('refuses %j', (s) => {
    expect(parseAddr(s)).toBeUndefined();
  });

  test('accepts exactly what Node accepts over short strings of address characters, with the same value', () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''), '0', '1', ':', ':', '.');
    fc.assert(
      fc.property(fc.array(chars, { minLength: 1, maxLength: 22 }), (cs) => {
        const s = cs.join('');
        const a = parseAddr(s);
        expect(a !== undefined).toBe(isIP(s) !== 0);
        if (a?.bits === 128) {
          // The URL parser prints IPv6 in its canonical short form (an IPv4 tail as hex): read that back.
          const canonical = new URL(`http://[${s}]/`).hostname.slice(1, -1);
          expect(parseAddr(canonical)?.value).toBe(a.value);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('ip() patterns', () => {
  // The cases of Loki's own ip filter tests, plus IPv6 prefixes, ranges and family mismatches.
  const LINES = [
    'vpn 192.168.0.5 connected to vm',
    'vpn 192.168.0.1 connected to vm',
    'vpn 192.172.6.1 connected to vm',
    'vpn 192.168.255.255 connected to vm',
    'vpn 2001:db8::1 connected to vm',
    'vpn 2001:db8::9 connected to vm',
    'vpn 2001:dc8::1 and 2001:db8::2 connected to vm',
    'vpn ::1 connected to vm',
    'connected to ::1',
    '::1',
    'from ::ffff:192.168.0.1 via proxy',
    'x',
    '',
  ];
  test.each([
    ['192.168.0.1', [1]],
    ['192.168.0.2-192.189.10.12', [0, 2, 3]],
    ['192.168.4.5/16', [0, 1, 3]],
    ['0.0.0.0/0', [0, 1, 2, 3]],
    ['::1', [7, 8, 9]],
    ['2001:db8::1-2001:db8::8', [4, 6]],
    ['2001:db8::/32', [4, 5, 6]],
    ['2001:db8::/127', [4]],
    ['::/0', [4, 5, 6, 7, 8, 9, 10]],
    // An IPv4-mapped address is IPv6: it matches IPv6 patterns only.
    ['::ffff:192.168.0.1', [10]],
    ['::ffff:0:0/96', [10]],
  ])('%s', (pattern, want) => {
    const m = ipMatcher(pattern);
    expect(LINES.flatMap((l, i) => (lineHasIp(l, m) ? [i] : []))).toEqual(want);
  });

  test.each([
    ['10.0.0.1:8080 accepted', '10.0.0.1', true],
    ['client=10.0.0.1, proxy=10.0.0.2', '10.0.0.2', true],
    ['[2001:db8::1]:443', '2001:db8::1', true],
    ['ids 110.0.0.1', '10.0.0.1', false], // the candidate is the whole run of address characters
    ['v=10.0.0.1.', '10.0.0.1', false], // a trailing dot belongs to the run, which then does not parse
    ['at 12:30:00', '12::/16', false],
    ['10.0.0.256 then 10.0.0.3', '10.0.0.3', true],
  ])('in %j, %s: %s', (line, pattern, want) => {
    expect(lineHasIp(line, ipMatcher(pattern))).toBe(want);
  });

  test.each([
    '',
    'x',
    '10.0.0',
    '10.0.0.1 - 10.0.0.9',
    '10.0.0.9-10.0.0.1',
    '10.0.0.1-::1',
    '10.0.0.0/33',
    '10.0.0.0/08',
    '::/129',
    'fe80::/10%eth0',
    '10.0.0.0/',
  ])('refuses %j with Loki’s message', (pattern) => {
    expect(() => ipMatcher(pattern)).toThrow(`ip: invalid pattern: ${JSON.stringify(pattern)}`);
  });

  test('every address of a random CIDR block matches it, and the ones just outside do not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 32 }), (v, len) => {
        const size = 2 ** (32 - len);
        const base = Math.floor(v / size) * size;
        const text = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
        const m = ipMatcher(`${text(v)}/${len}`);
        expect(lineHasIp(`x ${text(base)} y`, m)).toBe(true);
        expect(lineHasIp(`x ${text(base + size - 1)} y`, m)).toBe(true);
        if (base > 0) expect(lineHasIp(`x ${text(base - 1)} y`, m)).toBe(false);
        if (base + size <= 0xffffffff) expect(lineHasIp(`x ${text(base + size)} y`, m)).toBe(false);
      }),
    );
  });
});
