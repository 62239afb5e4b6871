/**
 * Fuzz targets for the wire formats that arrive from clients and peers: remote-write 1.0 and 2.0,
 * snappy, remote-read requests, and the chunked remote-read responses a querier reads from stores.
 * Every malformed input must end in a StrataError (a 400 or 413), never anything else.
 */
import { isStrataError } from '@strata/model';
import {
  decodeChunkedFrames,
  decodeShare,
  decodeReadRequest,
  decodeReadResponse,
  decodeWriteRequestV1,
  decodeWriteRequestV2,
  snappyDecode,
  decodeOtlpMetricsJson,
  decodeOtlpMetricsProto,
  decodeOtlpLogsJson,
  decodeOtlpLogsProto,
  translateOtlp,
  type OtlpRequest,
} from '@strata/remote';
import type { FuzzTarget } from '../../../test/fuzz/target.js';

const cover = ['packages/remote/src'];
// Field tags of the messages involved, and varints that are lengths or timestamps.
const dictionary = [
  '\x0a',
  '\x12',
  '\x1a',
  '\x22',
  '\x28',
  '\x09',
  '\x10',
  '\x08',
  '__name__',
  '\xff\xff\xff\xff\x0f',
  '\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01',
];

/** OTLP bodies are decoded and translated: neither may fail but with a StrataError. */
const translateAll = (req: OtlpRequest) =>
  translateOtlp(req, { strategy: 'UnderscoreEscapingWithSuffixes', promoteResourceAttributes: ['host.cores'], exemplars: true });

export const REMOTE_TARGETS: FuzzTarget[] = [
  {
    name: 'otlp-metrics-proto',
    corpus: 'packages/remote/fuzz/corpus/otlp-metrics-proto',
    cover,
    dictionary: [...dictionary, '\x2a', '\x3a', '\x4a', '\x52', '\x5a', '\x19', '\x31', 'service.name'],
    run: (b) => translateAll(decodeOtlpMetricsProto(b)),
    expected: isStrataError,
  },
  {
    name: 'otlp-metrics-json',
    corpus: 'packages/remote/fuzz/corpus/otlp-metrics-json',
    cover,
    dictionary: ['{', '}', '[', ']', '"', ':', ',', 'null', '"NaN"', '1e999', '"-1"', 'dataPoints', 'resourceMetrics', 'asInt', 'scale'],
    run: (b) => translateAll(decodeOtlpMetricsJson(b)),
    expected: isStrataError,
  },
  {
    name: 'otlp-logs-proto',
    corpus: 'packages/remote/fuzz/corpus/otlp-logs-proto',
    cover,
    // LogRecord's fixed64 times (0x09, 0x59), severity (0x10), body (0x2a), attributes (0x32), flags (0x45), ids (0x4a, 0x52).
    dictionary: [...dictionary, '\x59', '\x2a', '\x32', '\x45', '\x4a', '\x52', 'service.name'],
    run: (b) => decodeOtlpLogsProto(b),
    expected: isStrataError,
  },
  {
    name: 'otlp-logs-json',
    corpus: 'packages/remote/fuzz/corpus/otlp-logs-json',
    cover,
    dictionary: [
      '{',
      '}',
      '[',
      ']',
      '"',
      ':',
      ',',
      'null',
      '"-1"',
      'resourceLogs',
      'scopeLogs',
      'logRecords',
      'body',
      'kvlistValue',
      'timeUnixNano',
      '"SEVERITY_NUMBER_WARN"',
    ],
    run: (b) => decodeOtlpLogsJson(b),
    expected: isStrataError,
  },
  {
    name: 'remote-write-v1',
    corpus: 'packages/remote/fuzz/corpus/remote-write-v1',
    cover,
    dictionary,
    run: (b) => decodeWriteRequestV1(b),
    expected: isStrataError,
  },
  {
    name: 'remote-write-v2',
    corpus: 'packages/remote/fuzz/corpus/remote-write-v2',
    cover,
    dictionary,
    run: (b) => decodeWriteRequestV2(b),
    expected: isStrataError,
  },
  {
    name: 'forwarded-share',
    corpus: 'packages/remote/fuzz/corpus/forwarded-share',
    cover,
    dictionary: ['SSH1', '\x0a', '\x12', '\x00', '\x01', '\xff\xff\xff\xff\x0f'],
    // The writer decodes the labels of a series it does not know and compares those it does.
    run: (b) => {
      const { batch } = decodeShare(b);
      for (const s of batch.series) batch.labelFields!.equals(s, batch.labelsOf(s));
    },
    expected: isStrataError,
  },
  {
    name: 'snappy',
    corpus: 'packages/remote/fuzz/corpus/snappy',
    cover,
    // The decoded size is capped at 1 MiB here, as the write path caps it by the request size.
    run: (b) => snappyDecode(b, 1 << 20),
    expected: isStrataError,
  },
  {
    name: 'remote-read-request',
    corpus: 'packages/remote/fuzz/corpus/remote-read-request',
    cover,
    dictionary: [...dictionary, '.*', '(a|b)+', '[', '\\'],
    run: (b) => decodeReadRequest(b),
    expected: isStrataError,
  },
  {
    name: 'remote-read-response',
    corpus: 'packages/remote/fuzz/corpus/remote-read-response',
    cover,
    dictionary,
    // A store's answer: the first byte says which of the two response types the rest is.
    run: (b) => (b.length > 0 && b[0] & 1 ? decodeChunkedFrames(b.subarray(1)) : decodeReadResponse(b.subarray(1))),
    expected: isStrataError,
  },
];
