/** Fuzz target for Thanos' hashrings.json: any text is a ring configuration or a HashringConfigError. */
import { HashringConfigError, parseHashrings } from '../src/config.js';
import { mutateJson } from '../../../test/fuzz/json-mutate.js';
import type { FuzzTarget } from '../../../test/fuzz/target.js';

export const RING_TARGETS: FuzzTarget[] = [
  {
    name: 'hashrings',
    corpus: 'packages/ring/fuzz/corpus/hashrings',
    cover: ['packages/ring/src'],
    dictionary: [
      '[',
      ']',
      '{',
      '}',
      ',',
      ':',
      'null',
      'true',
      '0',
      '"',
      '"hashring"',
      '"endpoints"',
      '"tenants"',
      '"address"',
      '"az"',
      '"algorithm"',
      '"ketama"',
      '"hashmod"',
      '"tenant_matcher_type"',
      '"glob"',
      '"exact"',
    ],
    maxInputBytes: 8192,
    bytesPerInputByte: 1024,
    structured: mutateJson,
    run: (b) => parseHashrings(b.toString('utf8'), 'hashrings.json'),
    expected: (e) => e instanceof HashringConfigError,
  },
];
