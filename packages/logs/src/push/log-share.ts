/**
 * Streams between Strata processes in the log WAL's record format (docs/format/logs.md#forwarded-shares):
 * a receiver forwards each replica its share of a push this way, and a receiver answers a
 * querier's log select with it. The frame's CRC-32C catches a body cut or altered on the way;
 * decoding never trusts a length it has not checked against the buffer.
 */
import { crc32c } from '@node-rs/crc32';
import { StrataError } from '@strata/model';
import type { PushStream } from './push-stream.js';
import { decodePushRecord, encodePushRecord, RECORD_LOG_PUSH, WalRecordError, type RecordStream } from '../store/wal-record.js';

/** Content-Type of a forwarded log share (receiver to receiver) and of a log select answer. */
export const LOG_SHARE_CONTENT_TYPE = 'application/x-strata-log-share';

export function encodeLogShare(streams: readonly RecordStream[]): Buffer {
  return encodePushRecord(streams);
}

/** The streams of a share; a malformed body is a 400 (invalid-request-body), never a crash. */
export function decodeLogShare(buf: Buffer): PushStream[] {
  const bad = (why: string) => new StrataError('invalid-request-body', `malformed log share: ${why}`);
  if (buf.length < 9) throw bad('shorter than its frame header');
  const n = buf.readUInt32LE(0);
  if (n + 8 !== buf.length) throw bad(`the frame says ${n} bytes, the body has ${buf.length - 8}`);
  const body = buf.subarray(8);
  if (crc32c(body) !== buf.readUInt32LE(4)) throw bad('CRC mismatch');
  if (body[0] !== RECORD_LOG_PUSH) throw bad(`unknown record type ${body[0]}`);
  try {
    return decodePushRecord(body.subarray(1));
  } catch (e) {
    if (e instanceof WalRecordError || e instanceof RangeError) throw bad(e.message);
    throw e;
  }
}
