export { ParseError, type BinaryOp, type Expr } from './ast.js';
export { parse, parseDurationLiteral, parseNumberLiteral } from './parser/index.js';
export { Engine, type QueryResult, type QueryOutcome, type InstantSample, type RangeSeries, type QueryOptions } from './engine/engine.js';
export { DEFAULT_ENGINE_OPTIONS, type EngineOptions } from './engine/context.js';
export { formatFloat } from './engine/math.js';
export { histogramJson, type HistogramJson } from './engine/histogram-json.js';
export { formatExpr, formatDuration } from './printer.js';
export { astToJson } from './ast-json.js';
export { resolveQueryDurations } from './engine/engine.js';
export { usesQueryDurations } from './duration.js';
export { children } from './children.js';
export { infoSeriesMatchers, infoTimeModifiers } from './engine/info.js';
// PromQL's arithmetic and comparison of two numbers (comparisons as 1/0), shared with LogQL's binary operators.
export { arith } from './engine/binary.js';
export { rangeModifierReach } from './engine/extended-range.js';
