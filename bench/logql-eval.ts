/**
 * LogQL evaluation speed over an in-memory store (no decompression: this isolates the evaluator).
 * Anchor in the same run: a bare loop of String.includes over the same lines, the floor any
 * `|= "needle"` evaluation pays. Run: npx tsx --conditions=strata-src bench/logql-eval.ts [lines]
 */
import { Labels, type Matcher } from '@strata/model';
import { evaluateLogql, parseLogql, type LogQuerier, type LogStreamEntries } from '@strata/logs';

const LINES = Number(process.argv[2] ?? 200_000);
const STREAMS = 100;
const T0 = 1_700_000_000n * 1_000_000_000n;
const levels = ['info', 'info', 'info', 'warn', 'error', 'debug'];

const streams: LogStreamEntries[] = [];
for (let s = 0; s < STREAMS; s++) {
  const n = LINES / STREAMS;
  const ts = new BigInt64Array(n);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    ts[i] = T0 + BigInt(i) * 1_000_000_000n;
    const level = levels[(i * 7 + s) % levels.length];
    const needle = (i * 31 + s) % 1000 === 0 ? ' needle' : '';
    lines.push(
      s % 2 === 0
        ? `{"level":"${level}","msg":"handled request${needle}","path":"/api/v1/items/${i % 97}","status":${200 + (i % 3)},"duration_ms":${i % 250}}`
        : `level=${level} msg="handled request${needle}" path=/api/v1/items/${i % 97} status=${200 + (i % 3)} duration=${i % 250}ms`,
    );
  }
  streams.push({ labels: Labels.fromObject({ app: s < 10 ? 'x' : `app-${s}`, stream: String(s) }), timestampsNs: ts, lines });
}
const end = T0 + BigInt(LINES / STREAMS) * 1_000_000_000n;
const store: LogQuerier = {
  async selectLogs(ms: readonly Matcher[]) {
    return streams.filter((s) => ms.every((m) => m.matches(s.labels.get(m.name))));
  },
  series: async () => [],
  labelNames: async () => [],
  labelValues: async () => [],
};

async function time(name: string, lines: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  console.log(`${name.padEnd(75)} ${ms.toFixed(0).padStart(6)} ms  ${(((lines / ms) * 1000) / 1e6).toFixed(2)} M lines/s`);
  return ms;
}

const allBytes = streams.reduce((n, s) => n + s.lines.reduce((m, l) => m + l.length, 0), 0);
console.log(`${LINES} lines, ${(allBytes / 1e6).toFixed(1)} MB, ${STREAMS} streams`);
const xLines = LINES / 10;
const floor = await time('anchor: String.includes over the {app="x"} lines', xLines, async () => {
  let n = 0;
  for (const s of streams.slice(0, 10)) for (const l of s.lines) if (l.includes('needle')) n++;
  return n;
});
const opts = { startNs: T0, endNs: end, stepNs: 0n, limit: 5000, direction: 'backward' as const };
const needle = await time('{app="x"} |= "needle"', xLines, () => evaluateLogql(parseLogql('{app="x"} |= "needle"'), store, opts));
console.log(`needle query / includes floor: ${(needle / floor).toFixed(1)}x`);
const inst = { ...opts, startNs: end, endNs: end };
await time('sum by (level) (count_over_time({app=~".+"} |= "needle" [1h]))', LINES, () =>
  evaluateLogql(parseLogql('sum by (level) (count_over_time({app=~".+"} |= "needle" [1h]))'), store, inst),
);
await time('sum by (level) (count_over_time({app=~".+"} | json [5m])) (JSON streams only)', LINES / 2, () =>
  evaluateLogql(parseLogql('sum by (level) (count_over_time({app=~".+", stream=~"[0-9]*[02468]"} | json [1h]))'), store, inst),
);
await time('sum by (level) (count_over_time({app=~".+"} | json | __error__="" [5m])) (JSON and logfmt lines)', LINES, () =>
  evaluateLogql(parseLogql('sum by (level) (count_over_time({app=~".+"} | json | __error__="" [1h]))'), store, inst),
);
await time('sum by (level) (count_over_time({app=~".+"} | logfmt [5m])) (logfmt streams only)', LINES / 2, () =>
  evaluateLogql(parseLogql('sum by (level) (count_over_time({app=~".+", stream=~"[0-9]*[13579]"} | logfmt [1h]))'), store, inst),
);
