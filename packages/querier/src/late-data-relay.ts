/**
 * The querier's GET /internal/late-data: its stores' late-data logs (@strata/api late-data.ts)
 * merged, for a query frontend in another process. The querier keeps no state: its cursor holds
 * one cursor per store URL, and each poll asks every store for what followed its own.
 *
 * A store that answers 404 keeps no such log (a Prometheus, an older Strata) and is left out. A
 * store that fails or answers something else makes the answer `reset` (the frontend cannot know
 * what changed there); its cursor is kept, so once it answers again only a restart or a trimmed
 * log resets again. A store's reset is the answer's reset; a store new in --querier.stores has no
 * cursor yet and resets once.
 *
 * Each notice (and each reset) also drops what the querier remembers of the store's time ranges
 * for the tenant (every tenant on a reset), so the query that follows asks the store even when a
 * late sample fell before the range it last reported.
 */
import {
  decodeLateDataAnswer,
  LATE_DATA_FRESHNESS_PARAM,
  LATE_DATA_PATH,
  lateDataPath,
  readParams,
  failure,
  sendResult,
  success,
  type HttpClient,
  type LateDataAnswer,
  type LateDataBump,
  type Router,
} from '@strata/api';

export interface LateDataRelayOptions {
  /** Base URLs of the stores (--querier.stores). */
  urls: () => readonly string[];
  timeoutMs: number;
  client?: HttpClient;
  /** A store told of changed data of `tenant` (undefined: of any tenant). */
  onChanged?: (url: string, tenant: string | undefined) => void;
}

type Cursors = Record<string, string>;

function decodeCursor(c: string | undefined): Cursors {
  if (!c) return {};
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    const out: Cursors = {};
    for (const [k, s] of Object.entries(v)) if (typeof s === 'string') out[k] = s;
    return out;
  } catch {
    return {};
  }
}

function encodeCursor(c: Cursors): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export class LateDataRelay {
  constructor(private readonly opts: LateDataRelayOptions) {}

  /** One store's answer; 'none' when it keeps no log, undefined when it could not be read. */
  private async ask(
    url: string,
    cursor: string | undefined,
    freshnessMs: number | undefined,
  ): Promise<LateDataAnswer | 'none' | undefined> {
    const target = `${url}${lateDataPath(cursor, freshnessMs)}`;
    try {
      const init = { signal: AbortSignal.timeout(this.opts.timeoutMs) };
      const r = await (this.opts.client ? this.opts.client.fetch(target, init) : fetch(target, init));
      if (r.status === 404) {
        await r.body?.cancel();
        return 'none';
      }
      if (r.status !== 200) {
        await r.body?.cancel();
        return undefined;
      }
      return decodeLateDataAnswer(await r.json());
    } catch {
      return undefined;
    }
  }

  /** The notices after `cursor`, for a reader whose freshness window (passed on to the stores) is `freshnessMs`. */
  async read(cursor: string | undefined, freshnessMs?: number): Promise<LateDataAnswer> {
    const before = decodeCursor(cursor);
    const after: Cursors = {};
    const bumps: LateDataBump[] = [];
    let reset = false;
    let more = false;
    await Promise.all(
      this.opts.urls().map(async (url) => {
        const a = await this.ask(url, before[url], freshnessMs);
        if (a === 'none') return;
        if (a === undefined) {
          reset = true;
          if (before[url] !== undefined) after[url] = before[url];
          this.opts.onChanged?.(url, undefined);
          return;
        }
        after[url] = a.cursor;
        if (a.reset) {
          reset = true;
          this.opts.onChanged?.(url, undefined);
        }
        if (a.more) more = true;
        for (const b of a.bumps) {
          this.opts.onChanged?.(url, b[0]);
          bumps.push(b);
        }
      }),
    );
    return { cursor: encodeCursor(after), reset, more, bumps };
  }
}

export function mountLateDataRelay(router: Router, relay: LateDataRelay): void {
  router.add('GET', LATE_DATA_PATH, async (req, res) => {
    try {
      const params = await readParams(req);
      const freshness = params.get(LATE_DATA_FRESHNESS_PARAM);
      const freshnessMs = freshness === null ? undefined : Number(freshness);
      sendResult(res, success(await relay.read(params.get('cursor') ?? undefined, Number.isFinite(freshnessMs) ? freshnessMs : undefined)));
    } catch (e) {
      sendResult(res, failure(e));
    }
  });
}
