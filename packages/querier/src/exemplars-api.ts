/**
 * GET/POST /api/v1/query_exemplars, in Prometheus' shape: the exemplars in [start, end] of every
 * series the query's selectors match, fanned in from every store that holds exemplars (the
 * same series from two stores is one entry, the same exemplar is listed once).
 *
 *   {"status":"success","data":[{"seriesLabels":{...},"exemplars":[{"labels":{...},"value":"6","timestamp":1600096945.479}]}]}
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StrataError, type Labels, type Matcher } from '@strata/model';
import { formatFloat, parse, ParseError, type Expr } from '@strata/promql';
import { failure, parseTime, readParams, sendResult, success, tenantOf, type Router, type TenancyConfig } from '@strata/api';

export interface StoredExemplar {
  /** Sorted label pairs [name, value, ...]. */
  labels: readonly string[];
  value: number;
  timestamp: number;
}

export interface SeriesWithExemplars {
  seriesLabels: Labels;
  exemplars: StoredExemplar[];
}

/** A store of exemplars (a receiver's heads, or a remote store's API: remote-exemplars.ts). */
export interface ExemplarSource {
  /** The exemplars of the series matching any of the sets; `query` is the expression they came from, for a remote store. */
  selectExemplars(
    tenant: string,
    mint: number,
    maxt: number,
    matcherSets: readonly (readonly Matcher[])[],
    query: string,
  ): Promise<SeriesWithExemplars[]>;
}

export interface ExemplarsApiDeps {
  sources: () => readonly ExemplarSource[];
  tenancy: TenancyConfig;
}

export function mountExemplarsApi(router: Router, deps: ExemplarsApiDeps): void {
  router.add(['GET', 'POST'], '/api/v1/query_exemplars', async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const params = await readParams(req);
      const tenant = tenantOf(req, deps.tenancy);
      const q = params.get('query');
      if (!q) throw new StrataError('bad-query', 'invalid parameter "query": no query given');
      let expr: Expr;
      try {
        expr = parse(q);
      } catch (e) {
        if (e instanceof ParseError) throw new StrataError('bad-query', `invalid parameter "query": ${e.message}`);
        throw e;
      }
      const start = params.has('start') ? parseTime(params.get('start')!, 'start') : -Infinity;
      const end = params.has('end') ? parseTime(params.get('end')!, 'end') : Infinity;
      if (end < start) throw new StrataError('bad-query', 'invalid parameter "end": end timestamp must not be before start time');
      const sets = selectorMatchers(expr);
      const parts = await Promise.all(deps.sources().map((s) => s.selectExemplars(tenant, start, end, sets, q)));
      sendResult(res, success(toJson(mergeExemplars(parts))));
    } catch (e) {
      sendResult(res, failure(e));
    }
  });
}

/** The matchers of every vector selector in the expression, as Prometheus' exemplar query reads them. */
export function selectorMatchers(e: Expr): Matcher[][] {
  const out: Matcher[][] = [];
  const walk = (x: Expr): void => {
    switch (x.kind) {
      case 'VectorSelector':
        out.push(x.matchers);
        return;
      case 'MatrixSelector':
        out.push(x.vectorSelector.matchers);
        return;
      case 'SubqueryExpr':
      case 'UnaryExpr':
      case 'ParenExpr':
        walk(x.expr);
        return;
      case 'AggregateExpr':
        walk(x.expr);
        if (x.param) walk(x.param);
        return;
      case 'Call':
        // info()'s second argument selects info series, whose exemplars the query does not ask for.
        (x.func === 'info' ? x.args.slice(0, 1) : x.args).forEach(walk);
        return;
      case 'BinaryExpr':
        walk(x.lhs);
        walk(x.rhs);
        return;
      case 'NumberLiteral':
      case 'StringLiteral':
        return;
    }
  };
  walk(e);
  return out;
}

/** One entry per series across stores, exemplars in time order without repeats; series in label order. */
export function mergeExemplars(parts: readonly SeriesWithExemplars[][]): SeriesWithExemplars[] {
  const bySeries = new Map<string, SeriesWithExemplars>();
  for (const part of parts) {
    for (const s of part) {
      const key = s.seriesLabels.key();
      const have = bySeries.get(key);
      if (have) have.exemplars.push(...s.exemplars);
      else bySeries.set(key, { seriesLabels: s.seriesLabels, exemplars: [...s.exemplars] });
    }
  }
  const out = [...bySeries.values()];
  for (const s of out) {
    s.exemplars.sort((a, b) => a.timestamp - b.timestamp);
    s.exemplars = s.exemplars.filter((e, i, all) => {
      const p = all[i - 1];
      return !p || p.timestamp !== e.timestamp || !Object.is(p.value, e.value) || p.labels.join('\xff') !== e.labels.join('\xff');
    });
  }
  return out.sort((a, b) => (a.seriesLabels.key() < b.seriesLabels.key() ? -1 : a.seriesLabels.key() > b.seriesLabels.key() ? 1 : 0));
}

function toJson(series: SeriesWithExemplars[]): unknown {
  return series.map((s) => ({
    seriesLabels: s.seriesLabels.toObject(),
    exemplars: s.exemplars.map((e) => {
      const labels: Record<string, string> = {};
      for (let i = 0; i < e.labels.length; i += 2) labels[e.labels[i]] = e.labels[i + 1];
      return { labels, value: formatFloat(e.value), timestamp: e.timestamp / 1000 };
    }),
  }));
}
