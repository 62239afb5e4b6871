/** The public surface of @strata/ruler: what the CLI wires and the tests drive. */
export { Template, TemplateError, sprintf, formatG } from '@strata/model';
export {
  checkRuleFiles,
  loadRuleFile,
  parseRuleFile,
  parseRuleGroup,
  RuleFileError,
  type GroupSpec,
  type Printed,
  type RuleSpec,
} from './rule-file.js';
export { testRuleFiles, runRuleTestFile } from './rules-test.js';
export { Group, type GroupOptions } from './group.js';
export { appendWriter, engineQueries, httpQueries, remoteWriter } from './sources.js';
export type { Appendable, RuleQueries, RuleWriter, RuleSamples, InstantVector } from './interfaces.js';
export { RulerMetrics } from './metrics.js';
export { glob } from './glob.js';
export { Ruler, type RulerOptions, type ReloadOutcome, type StoredGroups } from './ruler.js';
export { Notifier, type NotifierOptions, type AlertmanagerAlert } from './notifier.js';
export { mountRulesApi } from './rules-api.js';
export { mountRulerConfigApi, type ConfigApiOptions, type RulerLimits } from './config-api.js';
export { BucketRuleStore, type StoredGroup, type StoredGroupRef } from './rule-store.js';
