import { ERRORS, StrataError, type ErrorId } from './errors.js';

describe('error registry', () => {
  // One row per cause: the status is part of the interface (see the remote-write spec and what a
  // default Prometheus retries). A change here must be deliberate.
  const expected: Record<ErrorId, number> = {
    'missing-metric-name': 400,
    'invalid-metric-name': 400,
    'invalid-label-name': 400,
    'invalid-label-value': 400,
    'duplicate-label-names': 400,
    'labels-not-sorted': 400,
    'max-label-names-per-series': 400,
    'label-name-too-long': 400,
    'label-value-too-long': 400,
    'sample-too-far-in-future': 400,
    'sample-too-old': 400,
    'sample-duplicate-timestamp': 400,
    'max-series-per-tenant': 400,
    'max-series-per-metric': 400,
    'max-label-value-cardinality-per-metric': 400,
    'invalid-native-histogram': 400,
    'max-native-histogram-buckets': 400,
    'unsupported-sample-type': 400,
    'invalid-request-body': 400,
    'invalid-symbol-reference': 400,
    'invalid-log-labels': 400,
    'log-line-too-long': 400,
    'max-label-names-per-stream': 400,
    'log-entry-too-far-in-future': 400,
    'log-entry-too-old': 400,
    'log-entry-out-of-order': 400,
    'max-streams-per-tenant': 400,
    'missing-tenant': 401,
    unauthorized: 401,
    'unauthenticated-internal-request': 403,
    'invalid-tenant': 400,
    'request-too-large': 413,
    'unsupported-content-type': 415,
    'unsupported-content-encoding': 415,
    'ingestion-rate-limited': 503,
    'per-stream-rate-limited': 503,
    'too-many-inflight-bytes': 503,
    'memory-budget-exceeded': 503,
    'auth-overloaded': 503,
    'disk-nearly-full': 503,
    'receiver-max-series': 503,
    'not-ready': 503,
    'ring-unavailable': 503,
    'write-quorum-not-reached': 503,
    'storage-failure': 500,
    'bad-query': 400,
    'too-many-points': 400,
    'query-execution': 422,
    'query-too-many-samples': 422,
    'query-max-series': 422,
    'query-max-chunks': 422,
    'query-max-bytes': 422,
    'max-query-length': 400,
    'max-total-query-length': 400,
    'max-fetched-series-per-query': 422,
    'max-fetched-chunk-bytes-per-query': 422,
    'max-estimated-query-cost': 422,
    'logql-max-entries': 400,
    'logql-max-series': 400,
    'logs-volume-max-series': 400,
    'max-concurrent-tail-requests': 400,
    'logql-pipeline-error': 400,
    'query-timeout': 503,
    'query-canceled': 503,
    'too-many-outstanding-requests': 429,
    'query-worker-failed': 500,
    'store-unavailable': 503,
    'admin-api-disabled': 503,
    'invalid-rule-group': 400,
    'ruler-max-rules-per-rule-group': 400,
    'ruler-max-rule-groups-per-tenant': 400,
    'rule-group-not-found': 404,
    'not-found': 404,
    'store-ranges-unsafe': 500,
    internal: 500,
  };

  test.each(Object.keys(ERRORS) as ErrorId[])('%s maps to its documented status', (id) => {
    expect(ERRORS[id].status).toBe(expected[id]);
    const e = new StrataError(id, 'x');
    expect(e.status).toBe(expected[id]);
    expect(e.code).toBe(`err-strata-${id}`);
    expect(e.detail).toBe(`x (err-strata-${id})`);
  });

  // What a write can be refused with for its content, its size or its credentials: data a retry can
  // never get accepted. A 5xx (or 429 with retry_on_http_429) would have Prometheus resend it forever,
  // blocking its queue; 409, which Cortex-era receivers answered for some of these, stays unused so
  // every permanent rejection reads the same to a client.
  const WRITE_REJECTIONS: ErrorId[] = [
    'missing-metric-name',
    'invalid-metric-name',
    'invalid-label-name',
    'invalid-label-value',
    'duplicate-label-names',
    'labels-not-sorted',
    'max-label-names-per-series',
    'label-name-too-long',
    'label-value-too-long',
    'sample-too-far-in-future',
    'sample-too-old',
    'sample-duplicate-timestamp',
    'max-series-per-tenant',
    'max-series-per-metric',
    'max-label-value-cardinality-per-metric',
    'invalid-native-histogram',
    'max-native-histogram-buckets',
    'unsupported-sample-type',
    'invalid-request-body',
    'invalid-symbol-reference',
    'missing-tenant',
    'unauthorized',
    'unauthenticated-internal-request',
    'invalid-tenant',
    'request-too-large',
    'unsupported-content-type',
    'unsupported-content-encoding',
  ];
  const badData = (Object.keys(ERRORS) as ErrorId[]).filter((id) => ERRORS[id].errorType === 'bad_data' || id.startsWith('sample-'));

  test.each([...new Set([...WRITE_REJECTIONS, ...badData])])(
    '%s, a rejection of data that can never be accepted, is a 4xx other than 409 and 429',
    (id) => {
      const status: number = ERRORS[id].status;
      expect(status >= 400 && status < 500 && status !== 409 && status !== 429 ? 'permanent 4xx' : status).toBe('permanent 4xx');
      if (badData.includes(id)) expect(status).toBe(400);
    },
  );

  test('status can be overridden (rate limit answered 429 when configured)', () => {
    const e = new StrataError('ingestion-rate-limited', 'slow down', { status: 429, retryAfter: 2 });
    expect(e.status).toBe(429);
    expect(e.retryAfter).toBe(2);
  });
});
