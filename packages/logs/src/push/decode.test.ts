import zlib from 'node:zlib';
import fc from 'fast-check';
import { Labels, StrataError } from '@strata/model';
import { snappyEncode } from '@strata/remote';
import { decodePushBody } from './decode-body.js';
import { encodePushRequestProto, type StreamToPush } from './encode-proto.js';
import { parseLabelsText } from './labels-text.js';

const MAX = 64 * 1024 * 1024;
const PROTO = { contentType: 'application/x-protobuf' };
const JSON_CT = { contentType: 'application/json' };

const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/);
const labelSet = fc.uniqueArray(fc.tuple(labelName, fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' })), {
  minLength: 1,
  maxLength: 5,
  selector: ([n]) => n,
});
const entry = fc.record({
  ts: fc.bigInt({ min: 0n, max: 2n ** 62n }),
  line: fc.string({ maxLength: 40, unit: 'grapheme' }),
  meta: fc.option(labelSet, { nil: undefined }),
});
const stream = fc.record({ labels: labelSet, entries: fc.array(entry, { maxLength: 6 }) });

function textOf(pairs: [string, string][]): string {
  return `{${pairs.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(', ')}}`;
}

function toPush(s: { labels: [string, string][]; entries: { ts: bigint; line: string; meta?: [string, string][] }[] }): StreamToPush {
  return {
    labelsText: textOf(s.labels),
    timestampsNs: BigInt64Array.from(s.entries.map((e) => e.ts)),
    lines: s.entries.map((e) => e.line),
    metadata: s.entries.map((e) => (e.meta ? Labels.fromPairs(e.meta.flat()) : undefined)),
  };
}

function jsonBody(streams: StreamToPush[]): string {
  return JSON.stringify({
    streams: streams.map((s) => ({
      stream: Labels.fromPairs(parseLabelsText(s.labelsText).pairs as string[]).toObject(),
      values: s.lines.map((l, i) => {
        const m = s.metadata?.[i];
        return m ? [String(s.timestampsNs[i]), l, m.toObject()] : [String(s.timestampsNs[i]), l];
      }),
    })),
  });
}

describe('push decoders', () => {
  test('protobuf, JSON and gzip JSON give back what was pushed', () => {
    fc.assert(
      fc.property(fc.array(stream, { maxLength: 5 }), (raw) => {
        const streams = raw.map(toPush);
        const bodies = [
          decodePushBody(snappyEncode(encodePushRequestProto(streams)), PROTO, MAX),
          decodePushBody(Buffer.from(jsonBody(streams)), JSON_CT, MAX),
          decodePushBody(zlib.gzipSync(jsonBody(streams)), { ...JSON_CT, contentEncoding: 'gzip' }, MAX),
        ];
        for (const d of bodies) {
          expect(d.rejected).toEqual([]);
          expect(d.streams.length).toBe(streams.length);
          d.streams.forEach((got, i) => {
            expect(got.labels.equals(parseLabelsText(streams[i].labelsText))).toBe(true);
            expect([...got.timestampsNs]).toEqual([...streams[i].timestampsNs]);
            expect(got.lines).toEqual(streams[i].lines);
            const want = streams[i].metadata!.map((m) => m?.key());
            expect(streams[i].lines.map((_, j) => got.metadata?.[j]?.key())).toEqual(want);
          });
        }
      }),
      { numRuns: 200 },
    );
  });

  test('nanosecond precision survives beyond 2^53', () => {
    const t = 1_733_000_000_123_456_789n;
    const s: StreamToPush = { labelsText: '{a="b"}', timestampsNs: BigInt64Array.of(t), lines: ['x'] };
    expect(decodePushBody(snappyEncode(encodePushRequestProto([s])), PROTO, MAX).streams[0].timestampsNs[0]).toBe(t);
    const j = `{"streams":[{"stream":{"a":"b"},"values":[["${t}","x"]]}]}`;
    expect(decodePushBody(Buffer.from(j), JSON_CT, MAX).streams[0].timestampsNs[0]).toBe(t);
  });

  test('a stream with bad labels is a rejection, the others are kept', () => {
    const good: StreamToPush = { labelsText: '{app="x"}', timestampsNs: BigInt64Array.of(1n), lines: ['ok'] };
    const bad: StreamToPush = { labelsText: '{app=~"x"}', timestampsNs: BigInt64Array.of(1n), lines: ['no'] };
    const d = decodePushBody(snappyEncode(encodePushRequestProto([bad, good])), PROTO, MAX);
    expect(d.streams.map((s) => s.labelsText)).toEqual(['{app="x"}']);
    expect(d.rejected.map((r) => [r.labelsText, r.error.id])).toEqual([['{app=~"x"}', 'invalid-log-labels']]);
  });

  test.each([
    ['{}', 'invalid-log-labels'],
    ['', 'invalid-log-labels'],
    ['{a="b"', 'invalid-log-labels'],
    ['{a="b",a="c"}', 'duplicate-label-names'],
    ['{a="b\\q"}', 'invalid-log-labels'],
    ['{1a="b"}', 'invalid-log-labels'],
    ['{a="b"} x', 'invalid-log-labels'],
  ])('labels text %j is refused as %s', (text, id) => {
    expect(() => parseLabelsText(text)).toThrow(expect.objectContaining({ id }));
  });

  test.each([
    ['{a="b", c=`x"y`}', { a: 'b', c: 'x"y' }],
    ['{ a = "\\u00e9\\n" , }', { a: 'é\n' }],
    ['{a="b", empty=""}', { a: 'b' }],
  ])('labels text %j parses', (text, want) => {
    expect(parseLabelsText(text).toObject()).toEqual(want);
  });

  test('random, truncated and hostile bodies end in a 4xx StrataError, never anything else', () => {
    const valid = snappyEncode(
      encodePushRequestProto([{ labelsText: '{app="x"}', timestampsNs: BigInt64Array.of(5n, 6n), lines: ['a', 'b'] }]),
    );
    const validJson = Buffer.from('{"streams":[{"stream":{"app":"x"},"values":[["5","a"]]}]}');
    const check = (body: Buffer, h: { contentType?: string; contentEncoding?: string }) => {
      try {
        decodePushBody(body, h, 1 << 20);
      } catch (e) {
        expect(e).toBeInstanceOf(StrataError);
        expect((e as StrataError).status).toBeGreaterThanOrEqual(400);
        expect((e as StrataError).status).toBeLessThan(500);
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(255), (bytes, cut, flip) => {
        const b = Buffer.from(bytes);
        check(b, PROTO);
        check(snappyEncode(b), PROTO);
        check(b, JSON_CT);
        check(b, { ...JSON_CT, contentEncoding: 'gzip' });
        check(valid.subarray(0, cut % (valid.length + 1)), PROTO);
        check(validJson.subarray(0, cut % (validJson.length + 1)), JSON_CT);
        const raw = Buffer.from(encodePushRequestProto([{ labelsText: '{a="b"}', timestampsNs: BigInt64Array.of(1n), lines: ['x'] }]));
        raw[cut % raw.length] ^= flip;
        check(snappyEncode(raw), PROTO);
      }),
      { numRuns: 500 },
    );
  });

  test.each([
    ['{"streams":5}'],
    ['{"streams":[{"stream":{"a":1},"values":[]}]}'],
    ['{"streams":[{"stream":{"a":"b"},"values":[["1.5","x"]]}]}'],
    ['{"streams":[{"stream":{"a":"b"},"values":[["99999999999999999999","x"]]}]}'],
    ['{"streams":[{"stream":{"a":"b"},"values":[["1",5]]}]}'],
    ['{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":5}]]}]}'],
  ])('JSON body %s is a 400 invalid-request-body', (body) => {
    expect(() => decodePushBody(Buffer.from(body), JSON_CT, MAX)).toThrow(
      expect.objectContaining({ id: 'invalid-request-body', status: 400 }),
    );
  });

  test('a gzip bomb is refused by its decompressed size', () => {
    const bomb = zlib.gzipSync(Buffer.alloc(8 << 20, 0x20));
    expect(() => decodePushBody(bomb, { ...JSON_CT, contentEncoding: 'gzip' }, 1 << 20)).toThrow(
      expect.objectContaining({ id: 'request-too-large' }),
    );
  });

  test('an unknown encoding or type is a 415', () => {
    expect(() => decodePushBody(Buffer.from('{}'), { ...JSON_CT, contentEncoding: 'br' }, MAX)).toThrow(
      expect.objectContaining({ status: 415 }),
    );
    expect(() => decodePushBody(Buffer.from('{}'), { contentType: 'text/plain' }, MAX)).toThrow(expect.objectContaining({ status: 415 }));
  });
});
