/**
 * A ruler restart neither re-waits `for` nor fires early: an alert with `for: 12s` is pending for
 * about 9 s when `strata ruler` stops; after 8 s down a new ruler restores its for state from
 * ALERTS_FOR_STATE (grace period 0) and the alert fires once its remaining pending time (moved
 * by the downtime, as Prometheus does) is over, not 8 s after the restart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Labels } from '@strata/model';
import { encodeWriteRequestV1, snappyEncode } from '@strata/remote';
import { getJson, startStrata, stop, tempDir, waitFor, type Strata } from './harness.js';

jest.setTimeout(120_000);

const FOR_MS = 12_000;
// Stopped three quarters into its `for`: the restored alert is due a quarter of `for` after the
// restart, an alert started anew a whole `for` after it, and the gap between the two is the margin
// the test leaves for evaluation lag on a loaded machine.

describe('ruler restart', () => {
  let all: Strata | undefined;
  let ruler: Strata | undefined;
  let pusher: NodeJS.Timeout | undefined;
  afterAll(async () => {
    clearInterval(pusher);
    for (const p of [ruler, all]) if (p) await stop(p);
  });

  test('for state is restored: the alert fires after the rest of its for', async () => {
    const dir = tempDir('ruler-restart');
    const rules = path.join(dir, 'rules.yml');
    fs.writeFileSync(
      rules,
      `groups:\n  - name: restart\n    interval: 1s\n    rules:\n      - alert: Down\n        expr: probe == 0\n        for: ${FOR_MS / 1000}s\n`,
    );
    all = await startStrata({ args: ['--query.lookback-delta=5s'] });
    const a = all;
    const push = async () => {
      const body = snappyEncode(
        encodeWriteRequestV1([{ labels: Labels.fromObject({ __name__: 'probe', job: 'x' }), timestamps: [Date.now()], values: [0] }]),
      );
      await fetch(`${a.url}/api/v1/write`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      });
    };
    await push();
    pusher = setInterval(() => void push().catch(() => undefined), 250);
    const rulerArgs = [
      `--ruler.rule-files=${rules}`,
      `--ruler.query-url=${a.url}/prometheus`,
      `--ruler.remote-write-url=${a.url}/api/v1/write`,
      '--ruler.for-grace-period=0s',
    ];
    const dataDir = tempDir('ruler-data');
    ruler = await startStrata({ component: 'ruler', dataDir, args: rulerArgs });
    type ApiAlert = { state: string; activeAt: string };
    const alertOf = async (r: Strata): Promise<ApiAlert | undefined> => (await getJson(`${r.url}/api/v1/alerts`)).data.alerts[0];
    const first = await waitFor('pending', async () => alertOf(ruler!), 30_000, 100);
    expect(first.state).toBe('pending');
    const activeAt = Date.parse(first.activeAt);
    // ALERTS_FOR_STATE is written from the third evaluation on (after the restore step).
    await waitFor(
      'ALERTS_FOR_STATE written',
      async () => (await getJson(`${a.url}/api/v1/query?query=ALERTS_FOR_STATE`)).data.result.length > 0,
      30_000,
      200,
    );
    await new Promise((r) => setTimeout(r, Math.max(0, activeAt + (FOR_MS * 3) / 4 - Date.now())));
    expect((await alertOf(ruler))!.state).toBe('pending');
    await stop(ruler);
    const stoppedAt = Date.now();
    // Down long enough that an activeAt left unmoved is far off the restored one (checked below).
    await new Promise((r) => setTimeout(r, 8000));
    ruler = await startStrata({ component: 'ruler', dataDir, args: rulerArgs });
    const restartedAt = Date.now();
    const fired = await waitFor(
      'firing after the restart',
      async () => {
        const al = await alertOf(ruler!);
        return al?.state === 'firing' ? { at: Date.now(), alert: al } : undefined;
      },
      30_000,
      100,
    );
    const downtime = restartedAt - stoppedAt;
    // Not early: pending for the whole `for`, the downtime not counted...
    expect(fired.at - activeAt).toBeGreaterThanOrEqual(FOR_MS + downtime - 1500);
    // ...and not again from scratch: before `for` has passed since the restart. An alert started
    // anew becomes pending at the new ruler's first evaluation, after restartedAt, so it cannot fire
    // before restartedAt + FOR_MS; the restored one is due about FOR_MS / 4 after it, and the margin
    // left is for evaluation lag on a loaded machine (with `for: 8s` stopped half way, CI once
    // measured 7.1 s here).
    expect(fired.at - restartedAt).toBeLessThan(FOR_MS - 250);
    // The restored alert keeps its original activeAt, moved later by the downtime.
    const restoredActiveAt = Date.parse(fired.alert.activeAt);
    // The ruler measures the downtime from the last ALERTS_FOR_STATE sample to its restore, this test
    // from the stop to the restart's readiness: they differ by stop and start-up lag (3 s on a loaded
    // machine), while an unmoved activeAt would be off by the whole downtime.
    expect(Math.abs(restoredActiveAt - (Math.floor(activeAt / 1000) * 1000 + downtime))).toBeLessThan(Math.max(2500, downtime / 2));
  });
});
