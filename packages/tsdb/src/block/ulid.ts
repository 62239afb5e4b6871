/** ULIDs for block IDs: 48-bit millisecond time + 80 random bits, Crockford base32, sortable. */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function ulid(timeMs = Date.now()): string {
  let out = '';
  let t = timeMs;
  const time: string[] = [];
  for (let i = 0; i < 10; i++) {
    time.unshift(ALPHABET[t % 32]);
    t = Math.floor(t / 32);
  }
  out += time.join('');
  const rnd = randomBytes(10);
  // 80 bits -> 16 base32 characters.
  let bits = 0;
  let acc = 0;
  for (const b of rnd) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

export function ulidTime(id: string): number {
  let t = 0;
  for (let i = 0; i < 10; i++) t = t * 32 + ALPHABET.indexOf(id[i]);
  return t;
}
