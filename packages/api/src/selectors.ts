/** `match[]` parameters: each must be a PromQL vector selector. */
import { StrataError, type Matcher } from '@strata/model';
import { parse } from '@strata/promql';

export function parseMatchParams(values: readonly string[]): Matcher[][] {
  return values.map((s) => {
    let expr;
    try {
      expr = parse(s);
    } catch (e) {
      throw new StrataError('bad-query', `invalid parameter "match[]": ${(e as Error).message}`);
    }
    while (expr.kind === 'ParenExpr') expr = expr.expr;
    if (expr.kind !== 'VectorSelector') {
      throw new StrataError('bad-query', `invalid parameter "match[]": ${JSON.stringify(s)} is not a series selector`);
    }
    return expr.matchers;
  });
}
