/**
 * A damaged index or index header (a bad disk, a bucket object cut short, a buggy writer) is an
 * IndexCorruptError naming it, and no length read from the file makes the reader ask for more
 * bytes than the file has. Regression tests for what fuzzing found (npm run fuzz -- index).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { Labels } from '@strata/model';
import {
  decodeIndexHeader,
  encodeIndexHeader,
  IndexCorruptError,
  IndexReader,
  writeBlock,
  XOREncoder,
  type HeaderRange,
} from '@strata/tsdb';
import { fixIndex, MemorySource } from './fuzz-targets.js';

/** Records the largest read asked for. */
class RecordingSource extends MemorySource {
  largest = 0;
  override async read(offset: number, length: number): Promise<Buffer> {
    this.largest = Math.max(this.largest, length);
    return super.read(offset, length);
  }
}

let index: Buffer;
beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-ixc-'));
  const e = new XOREncoder();
  for (let i = 0; i < 10; i++) e.append(i * 1000, i);
  const series = ['a', 'b', 'c'].map((v) => ({
    labels: Labels.fromObject({ __name__: 'm', job: v }),
    chunks: [{ minT: 0, maxT: 9000, data: e.bytes().slice() }],
  }));
  const meta = await writeBlock(dir, series, { minTime: 0, maxTime: 10_000 });
  index = fs.readFileSync(path.join(dir, meta.ulid, 'index'));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function readAll(b: Buffer): Promise<RecordingSource> {
  const src = new RecordingSource(b);
  const ix = await IndexReader.open(src, 'block X index');
  for (const name of ['', ...ix.labelNames()])
    for (const v of name ? ix.labelValues(name) : ['']) await ix.seriesMany(await ix.postings(name, v));
  return src;
}

const toc = (b: Buffer, i: number) => Number(b.readBigUInt64BE(b.length - 52 + 8 * i));

test('the undamaged index reads', async () => {
  expect((await readAll(index)).largest).toBeLessThanOrEqual(index.length);
});

test.each<[string, (b: Buffer) => void, RegExp]>([
  ['a symbol table length of almost 4 GiB', (b) => b.writeUInt32BE(0xfffffff0, toc(b, 0)), /symbol table .* runs past the end/],
  ['a symbol count beyond the table', (b) => b.writeUInt32BE(0x7fffffff, toc(b, 0) + 4), /symbol count/],
  [
    'a postings offset table running past the file',
    (b) => b.writeUInt32BE(index.length, toc(b, 5)),
    /postings offset table .* runs past the end/,
  ],
  ['a series entry with a huge label count', (b) => (b[toc(b, 1) + 1] = 0xff), /claims|symbol reference|unexpected end|varint/],
  ['a postings list longer than its section', (b) => b.writeUInt32BE(0x7fffffff, toc(b, 4) + 4), /postings list longer than its section/],
])('%s is an IndexCorruptError, without oversized reads', async (_name, damage, message) => {
  const b = Buffer.from(index);
  damage(b);
  const src = new RecordingSource(fixIndex(b));
  const err = await (async () => {
    try {
      const ix = await IndexReader.open(src, 'block X index');
      for (const name of ['', ...ix.labelNames()])
        for (const v of name ? ix.labelValues(name) : ['']) await ix.seriesMany(await ix.postings(name, v));
    } catch (e) {
      return e;
    }
  })();
  expect(err).toBeInstanceOf(IndexCorruptError);
  expect((err as Error).message).toMatch(message);
  expect(src.largest).toBeLessThanOrEqual(index.length);
});

test('any damage, with checksums made right again, is an IndexCorruptError and never reads past the file', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(index.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      async (edits) => {
        const b = Buffer.from(index);
        for (const [at, v] of edits) b[at] = v;
        const src = new RecordingSource(fixIndex(b));
        try {
          const ix = await IndexReader.open(src, 'x');
          for (const name of ['', ...ix.labelNames()])
            for (const v of name ? ix.labelValues(name) : ['']) await ix.seriesMany(await ix.postings(name, v));
        } catch (e) {
          if (!(e instanceof IndexCorruptError)) throw e;
        }
        expect(src.largest).toBeLessThanOrEqual(b.length);
      },
    ),
    { numRuns: 500 },
  );
});

test('an index header whose ranges run past its end is an IndexCorruptError', () => {
  const ranges: HeaderRange[] = [{ offset: 0, bytes: Buffer.from('abcd') }];
  const good = encodeIndexHeader(ranges);
  expect(decodeIndexHeader(good, 'h')).toHaveLength(1);
  for (const [at, v] of [
    [8, 0x0fffffff],
    [20, 0x7fffffff],
  ] as const) {
    const b = Buffer.from(good);
    b.writeUInt32BE(v, at);
    b.writeUInt32BE(crc32c(b.subarray(0, b.length - 4)), b.length - 4);
    expect(() => decodeIndexHeader(b, 'block X')).toThrow(IndexCorruptError);
    expect(() => decodeIndexHeader(b, 'block X')).toThrow(/runs past its end/);
  }
});
