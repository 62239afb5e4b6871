import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import type { Labels } from '@strata/model';
import { runIngest } from './ingest.js';
const encode = (series: Labels[], t: number, values: Float64Array): Buffer =>
  snappyEncode(encodeWriteRequestV1(series.map((labels, i) => ({ labels, timestamps: [t], values: [values[i]] }))));
const r = await runIngest({ series: 100000, rounds: Number(process.env.R ?? 4), concurrency: 1000, batch: 100, encode, systems: ['strata'] });
console.log(r);
