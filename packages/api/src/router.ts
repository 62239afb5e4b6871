/**
 * A small method+path router over node:http. Every route is also served under extra prefixes
 * (Mimir's `/prometheus`), so Grafana can point at either root.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export type Handler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => Promise<void> | void;

/**
 * A route taking an HTTP upgrade (a WebSocket): it owns the socket, and answers on it either the
 * upgrade or an HTTP error (see writeUpgradeError).
 */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void> | void;

interface Route {
  /** The pattern as registered, without prefix: a bounded label value for metrics. */
  name: string;
  methods: ReadonlySet<string>;
  parts: readonly string[];
  handler: Handler;
}

export interface RouteMatch {
  name: string;
  handler: Handler;
  params: Record<string, string>;
}

export class Router {
  private readonly exact = new Map<string, Route[]>();
  private readonly patterned: Route[] = [];
  private readonly upgrades = new Map<string, { name: string; handler: UpgradeHandler }>();

  constructor(private readonly prefixes: readonly string[] = ['']) {}

  /** `path` segments starting with ':' capture one URL-decoded segment. */
  add(methods: string | string[], path: string, handler: Handler): this {
    const ms = new Set(Array.isArray(methods) ? methods : [methods]);
    for (const prefix of this.prefixes) {
      const full = prefix + path;
      const route: Route = { name: path, methods: ms, parts: full.split('/'), handler };
      if (full.includes('/:')) this.patterned.push(route);
      else {
        const list = this.exact.get(full) ?? [];
        list.push(route);
        this.exact.set(full, list);
      }
    }
    return this;
  }

  /** A route for upgrade requests (GET with `Upgrade:`) to this exact path. */
  addUpgrade(path: string, handler: UpgradeHandler): this {
    for (const prefix of this.prefixes) this.upgrades.set(prefix + path, { name: path, handler });
    return this;
  }

  matchUpgrade(pathname: string): { name: string; handler: UpgradeHandler } | undefined {
    return this.upgrades.get(pathname);
  }

  /**
   * Finds the handler for a request. Returns 'method-not-allowed' when the path exists for other
   * methods, undefined when it does not exist at all.
   */
  match(method: string, pathname: string): RouteMatch | 'method-not-allowed' | undefined {
    let pathFound = false;
    const exact = this.exact.get(pathname);
    if (exact) {
      pathFound = true;
      for (const r of exact) if (r.methods.has(method)) return { name: r.name, handler: r.handler, params: {} };
    }
    const segs = pathname.split('/');
    for (const r of this.patterned) {
      const params = matchParts(r.parts, segs);
      if (!params) continue;
      pathFound = true;
      if (r.methods.has(method)) return { name: r.name, handler: r.handler, params };
    }
    return pathFound ? 'method-not-allowed' : undefined;
  }
}

function matchParts(parts: readonly string[], segs: readonly string[]): Record<string, string> | undefined {
  if (parts.length !== segs.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(segs[i]);
      } catch {
        return undefined;
      }
    } else if (p !== segs[i]) return undefined;
  }
  return params;
}
