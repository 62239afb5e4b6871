/**
 * A /loki/api/v1/push body as Loki takes it: Content-Type application/json is JSON, anything
 * else (application/x-protobuf, or none) is snappy-compressed logproto.PushRequest. A
 * Content-Encoding of gzip or deflate is undone first. Decompression is bounded so a small
 * hostile body cannot expand without limit.
 */
import zlib from 'node:zlib';
import { StrataError } from '@strata/model';
import { snappyDecode } from '@strata/remote';
import { decodePushRequestJson } from './decode-json.js';
import { decodePushRequestProto, type DecodedPush } from './decode-proto.js';

export interface PushBodyHeaders {
  contentType?: string;
  contentEncoding?: string;
}

export function decodePushBody(body: Buffer, h: PushBodyHeaders, maxDecodedBytes: number): DecodedPush {
  const media = (h.contentType ?? '').split(';')[0].trim().toLowerCase();
  const enc = (h.contentEncoding ?? '').trim().toLowerCase();
  let raw = body;
  if (enc === 'gzip' || enc === 'deflate') raw = inflate(body, enc, maxDecodedBytes);
  else if (enc !== '' && enc !== 'identity' && !(enc === 'snappy' && media !== 'application/json')) {
    throw new StrataError(
      'unsupported-content-encoding',
      `unsupported Content-Encoding ${JSON.stringify(enc)} for a log push (gzip, deflate)`,
    );
  }
  if (media === 'application/json') return decodePushRequestJson(raw.toString('utf8'));
  if (media !== '' && media !== 'application/x-protobuf' && media !== 'application/octet-stream') {
    throw new StrataError(
      'unsupported-content-type',
      `unsupported Content-Type ${JSON.stringify(media)}; push application/json or application/x-protobuf`,
    );
  }
  return decodePushRequestProto(snappyDecode(raw, maxDecodedBytes));
}

function inflate(body: Buffer, enc: 'gzip' | 'deflate', max: number): Buffer {
  try {
    return enc === 'gzip' ? zlib.gunzipSync(body, { maxOutputLength: max }) : zlib.inflateSync(body, { maxOutputLength: max });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || /Cannot create a Buffer larger/.test(err.message)) {
      throw new StrataError('request-too-large', `decompressed body exceeds the limit of ${max} bytes`);
    }
    throw new StrataError('invalid-request-body', `${enc}: ${err.message}`);
  }
}
