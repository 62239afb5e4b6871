/** Series selector parameters (`match[]`, Mimir's `selector`): each must be a PromQL vector selector. */
import { StrataError, type Matcher } from '@strata/model';
import { parse } from '@strata/promql';

export function parseSelector(s: string, param: string): Matcher[] {
  let expr;
  try {
    expr = parse(s);
  } catch (e) {
    throw new StrataError('bad-query', `invalid parameter "${param}": ${(e as Error).message}`);
  }
  while (expr.kind === 'ParenExpr') expr = expr.expr;
  if (expr.kind !== 'VectorSelector') {
    throw new StrataError('bad-query', `invalid parameter "${param}": ${JSON.stringify(s)} is not a series selector`);
  }
  return expr.matchers;
}

export function parseMatchParams(values: readonly string[]): Matcher[][] {
  return values.map((s) => parseSelector(s, 'match[]'));
}
