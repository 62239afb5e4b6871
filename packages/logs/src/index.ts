export type { LogDirection, LogQuerier, LogQueryable, LogSelectHints, LogStreamEntries } from './types.js';
export { decodePushBody, type PushBodyHeaders } from './push/decode-body.js';
export { decodePushRequestProto, type DecodedPush } from './push/decode-proto.js';
export { decodePushRequestJson } from './push/decode-json.js';
export { encodePushRequestProto, type StreamToPush } from './push/encode-proto.js';
export { labelsFromPairs, parseLabelsText } from './push/labels-text.js';
export { lineBytes, type PushStream } from './push/push-stream.js';
