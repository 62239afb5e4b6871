/** One OTLP/JSON document with every metric kind, attribute value type and exemplar: the fuzz seed. */
export const OTLP_SEED_DOC = {
  resourceMetrics: [
    {
      resource: {
        attributes: [
          { key: 'service.name', value: { stringValue: 'svc' } },
          { key: 'service.instance.id', value: { stringValue: 'i-1' } },
          { key: 'host.cores', value: { intValue: '8' } },
          { key: 'feature.on', value: { boolValue: true } },
          { key: 'ratio', value: { doubleValue: 0.5 } },
          { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } } },
          { key: 'nested', value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } } },
          { key: 'blob', value: { bytesValue: 'AAEC' } },
        ],
      },
      scopeMetrics: [
        {
          scope: { name: 'lib', version: '1.0' },
          metrics: [
            {
              name: 'g',
              unit: '1',
              gauge: {
                dataPoints: [
                  { timeUnixNano: '1700000000000000000', asDouble: 0.5, attributes: [{ key: 'a.b', value: { stringValue: 'x' } }] },
                ],
              },
            },
            {
              name: 'c',
              unit: 'By',
              sum: {
                aggregationTemporality: 2,
                isMonotonic: true,
                dataPoints: [
                  {
                    timeUnixNano: '1700000000000000000',
                    asInt: '5',
                    exemplars: [
                      {
                        timeUnixNano: '1700000000000000000',
                        asInt: '1',
                        traceId: '0102030405060708090a0b0c0d0e0f10',
                        spanId: '0102030405060708',
                      },
                    ],
                  },
                ],
              },
            },
            {
              name: 'h',
              unit: 'ms',
              histogram: {
                aggregationTemporality: 2,
                dataPoints: [
                  { timeUnixNano: '1700000000000000000', count: '3', sum: 12, bucketCounts: ['1', '1', '1'], explicitBounds: [1, 10] },
                ],
              },
            },
            {
              name: 'e',
              exponentialHistogram: {
                aggregationTemporality: 2,
                dataPoints: [
                  {
                    timeUnixNano: '1700000000000000000',
                    count: '4',
                    sum: 9,
                    scale: 2,
                    zeroCount: '1',
                    positive: { offset: 3, bucketCounts: ['1', '0', '2'] },
                    negative: { offset: -1, bucketCounts: ['0'] },
                  },
                ],
              },
            },
            {
              name: 's',
              summary: {
                dataPoints: [{ timeUnixNano: '1700000000000000000', count: '2', sum: 1, quantileValues: [{ quantile: 0.5, value: 0.4 }] }],
              },
            },
            { name: 'd', sum: { aggregationTemporality: 1, dataPoints: [{ timeUnixNano: '1700000000000000000', asDouble: 1, flags: 1 }] } },
          ],
        },
      ],
    },
  ],
};
