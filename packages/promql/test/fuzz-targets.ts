/** Fuzz target for the PromQL parser: any text is a parse tree or a ParseError (a 400), nothing else. */
import { isStrataError } from '@strata/model';
import { parse } from '@strata/promql';
import { ParseError } from '../src/ast.js';
import type { FuzzTarget } from '../../../test/fuzz/target.js';

const words =
  'sum avg min max count topk bottomk quantile count_values stddev stdvar group limitk limit_ratio by without on ignoring group_left group_right bool and or unless offset @ start() end() rate irate increase delta deriv histogram_quantile label_replace label_join absent vector scalar time timestamp sort_desc predict_linear holt_winters clamp round'.split(
    ' ',
  );
const symbols = [
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  ',',
  '=',
  '!=',
  '=~',
  '!~',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '==',
  '>=',
  '<=',
  '<',
  '>',
  ':',
  '5m',
  '1h30m',
  '0x1f',
  '1e308',
  'Inf',
  'NaN',
  '"',
  "'",
  '`',
  '\\',
  '#',
  '\n',
  'foo',
  '__name__',
  'job',
];

export const PROMQL_TARGETS: FuzzTarget[] = [
  {
    name: 'promql-parser',
    corpus: 'packages/promql/fuzz/corpus/promql-parser',
    cover: ['packages/promql/src/parser', 'packages/promql/src/ast.ts'],
    dictionary: [...words, ...symbols],
    maxInputBytes: 4096,
    // Syntax trees are object-heavy: allow more heap per query byte than a binary decoder.
    bytesPerInputByte: 4096,
    run: (b) => parse(b.toString('utf8')),
    expected: (e) => e instanceof ParseError || isStrataError(e),
  },
];
