export { Labels, LabelsBuilder, METRIC_NAME, isValidLegacyLabelName, isValidLegacyMetricName } from './labels.js';
export { Matcher, type MatchType } from './matchers.js';
export { compileRegex, compileSearchRegex, type CompiledRegex, type RegexGroups, type SearchRegex } from './regex.js';
export {
  RELABEL_ACTIONS,
  RelabelConfigError,
  expandGo,
  parseRelabelConfigs,
  relabel,
  type RelabelAction,
  type RelabelRule,
} from './relabel.js';
export { pace, setPaceSlice, sortPaced } from './pace.js';
export {
  type MetricMetadata,
  type Querier,
  type QueryBudget,
  type Queryable,
  type RollupSamples,
  type RawPart,
  type RawSeries,
  type SelectHints,
  type Series,
} from './storage.js';
export { StrataError, isStrataError, toStrataError, type ErrorId } from './errors.js';
export { MergeQuerier, mergeParts, selectRawOf } from './merge.js';
export { compareCodeUnits, mergeSorted, sortUnique } from './sorted-merge.js';
export { checkTenantId, tenantIdProblem } from './tenant-id.js';
