/**
 * Which series a rule takes: its selector, except that names with a colon (recording-rule and
 * aggregation outputs) are taken only by a rule naming them exactly, so that outputs written
 * through the same path never feed a rule by accident.
 */
import { Labels } from '@strata/model';
import { parseStreamAggrConfig } from '@strata/api';
import { StreamAggregation } from './aggregator.js';

test.each([
  ['requests_total', 'requests_total', true],
  ['{__name__=~"requests.*"}', 'requests_total', true],
  ['{__name__=~".+"}', 'requests_total:1m_total', false],
  ['{__name__=~"requests.*"}', 'requests_total:1m_total', false],
  ['{job="a"}', 'requests_total:1m_total', false],
  ['requests_total:1m_total', 'requests_total:1m_total', true],
  ['requests_total:1m_total{job="b"}', 'requests_total:1m_total', false],
  [['{__name__=~".+"}', 'requests_total:1m_total'], 'requests_total:1m_total', true],
  ['other:1m_total', 'requests_total:1m_total', false],
])('match %j takes %s: %p', (match, name, taken) => {
  const rules = parseStreamAggrConfig([{ match, interval: '1m', outputs: ['count_samples'] }], 'rules');
  const agg = new StreamAggregation({ rules: () => rules, self: 'r0', ownerOf: () => 'r0', flushDelayMs: 1000 });
  const input = agg.forTenant('t')!.classify(Labels.fromObject({ __name__: name, job: 'a' }));
  expect(input !== null).toBe(taken);
});
