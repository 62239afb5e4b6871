export type { LogDirection, LogQuerier, LogQueryable, LogSelectHints, LogStreamEntries } from './types.js';
export type { Expr as LogqlExpr, LogExpr, SampleExpr as LogqlSampleExpr } from './logql/ast.js';
export { parseLogql } from './logql/parser.js';
export { LogqlParseError } from './logql/lexer.js';
export {
  evaluateLogql,
  selectHints,
  type LogqlQueryOptions,
  type LogqlResult,
  type LogqlSeries,
  type LogqlStats,
  type LogqlStream,
} from './logql/engine.js';
export { formatLogql } from './logql/format.js';
