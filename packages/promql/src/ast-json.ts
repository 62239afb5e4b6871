/** The JSON tree /api/v1/parse_query returns, in the shape of Prometheus' translateAST. */
import type { Matcher } from '@strata/model';
import type { Expr } from './ast.js';
import { formatFloat } from './engine/math.js';
import { FUNCTIONS } from './parser/functions.js';

function matchers(ms: Matcher[]): { name: string; value: string; type: string }[] {
  return ms.map((m) => ({ name: m.name, value: m.value, type: m.type }));
}

export function astToJson(e: Expr | null): unknown {
  if (e === null) return null;
  switch (e.kind) {
    case 'AggregateExpr':
      return {
        type: 'aggregation',
        op: e.op,
        expr: astToJson(e.expr),
        param: astToJson(e.param),
        grouping: e.grouping,
        without: e.without,
      };
    case 'BinaryExpr':
      return {
        type: 'binaryExpr',
        op: e.op,
        lhs: astToJson(e.lhs),
        rhs: astToJson(e.rhs),
        matching: e.matching
          ? {
              card: e.matching.card,
              labels: e.matching.matchingLabels,
              on: e.matching.on,
              include: e.matching.include,
              fillValues: { lhs: null, rhs: null },
            }
          : null,
        bool: e.returnBool,
      };
    case 'Call': {
      const f = FUNCTIONS[e.func];
      return {
        type: 'call',
        func: { name: e.func, argTypes: f?.argTypes ?? [], variadic: f?.variadic ?? 0, returnType: f?.returnType ?? 'vector' },
        args: e.args.map(astToJson),
      };
    }
    case 'MatrixSelector': {
      const vs = e.vectorSelector;
      return {
        type: 'matrixSelector',
        name: vs.name,
        range: e.range,
        offset: vs.offset,
        matchers: matchers(vs.matchers),
        timestamp: vs.at,
        startOrEnd: vs.atModifier,
        anchored: vs.rangeModifier === 'anchored',
        smoothed: vs.rangeModifier === 'smoothed',
      };
    }
    case 'SubqueryExpr':
      return {
        type: 'subquery',
        expr: astToJson(e.expr),
        range: e.range,
        offset: e.offset,
        step: e.step,
        timestamp: e.at,
        startOrEnd: e.atModifier,
        alignEvalTime: false,
      };
    case 'NumberLiteral':
      return { type: 'numberLiteral', val: formatFloat(e.value) };
    case 'ParenExpr':
      return { type: 'parenExpr', expr: astToJson(e.expr) };
    case 'StringLiteral':
      return { type: 'stringLiteral', val: e.value };
    case 'UnaryExpr':
      return { type: 'unaryExpr', op: e.op, expr: astToJson(e.expr) };
    case 'VectorSelector':
      return {
        type: 'vectorSelector',
        name: e.name,
        offset: e.offset,
        matchers: matchers(e.matchers),
        timestamp: e.at,
        startOrEnd: e.atModifier,
        anchored: false,
        smoothed: e.rangeModifier === 'smoothed',
      };
  }
}
