/**
 * The ruler: rule groups from rule files (globs), per tenant, each group on its own schedule.
 * Files are re-read when they change (polled) or on reload(); a reload with any bad file keeps
 * every previous group running and reports the problems. Groups that stay keep their alert state.
 */
import fs from 'node:fs';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { NotifyFunc } from './alert.js';
import { glob } from './glob.js';
import { Group } from './group.js';
import type { RuleQueries, RuleWriter } from './interfaces.js';
import { RulerMetrics } from './metrics.js';
import { loadRuleFile, RuleFileError, type GroupSpec } from './rule-file.js';

export interface RulerOptions {
  /** Rule file globs. */
  ruleFiles: readonly string[];
  /** The tenant the rule files' groups belong to. */
  tenant: string;
  defaultIntervalMs: number;
  defaultQueryOffsetMs?: number;
  queries: RuleQueries;
  writer: RuleWriter;
  externalLabels?: ReadonlyMap<string, string>;
  externalURL?: string;
  queryTimeoutMs?: number;
  outageToleranceMs?: number;
  forGracePeriodMs?: number;
  resendDelayMs?: number;
  notify?: NotifyFunc;
  /** Restore alerts' for state from ALERTS_FOR_STATE when groups start (Prometheus does at startup). */
  restoreForState?: boolean;
  /**
   * Whether this ruler evaluates a group, by its key `tenant/file/group`: several rulers share
   * the groups (rendezvous hashing over the members, wired by the CLI). Unset: every group.
   */
  owns?: (groupKey: string) => boolean;
  /** How often rule files are checked for changes; 0: only on reload(). */
  pollIntervalMs?: number;
  registry?: Registry;
  logger?: Logger;
}

export interface ReloadOutcome {
  ok: boolean;
  problems: string[];
}

export class Ruler {
  private groups = new Map<string, Group>();
  private fingerprint = '';
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly metrics: RulerMetrics;
  private readonly reloadOk: Gauge;
  private readonly reloadTime: Gauge;
  lastReload: ReloadOutcome = { ok: true, problems: [] };
  private started = false;

  constructor(readonly opts: RulerOptions) {
    const registers = opts.registry ? [opts.registry] : [];
    this.metrics = new RulerMetrics(opts.registry);
    this.reloadOk = new Gauge({
      name: 'strata_ruler_config_last_reload_successful',
      help: 'Whether the last reload of the rule files succeeded (1) or kept the previous rules (0).',
      registers,
    });
    this.reloadTime = new Gauge({
      name: 'strata_ruler_config_last_reload_success_timestamp_seconds',
      help: 'When the rule files were last loaded successfully.',
      registers,
    });
  }

  /** Loads the rule files and starts their groups; a bad file at startup is reported and no group of any file starts. */
  async start(): Promise<ReloadOutcome> {
    this.started = true;
    const r = await this.reload();
    const poll = this.opts.pollIntervalMs ?? 0;
    if (poll > 0) {
      this.pollTimer = setInterval(() => {
        if (this.currentFingerprint() !== this.fingerprint) void this.reload();
      }, poll);
      this.pollTimer.unref();
    }
    return r;
  }

  private files(): string[] {
    const out = new Set<string>();
    for (const g of this.opts.ruleFiles) for (const f of glob(g)) out.add(f);
    return [...out].sort();
  }

  private currentFingerprint(): string {
    return this.files()
      .map((f) => {
        try {
          const s = fs.statSync(f);
          return `${f}:${s.size}:${s.mtimeMs}`;
        } catch {
          return `${f}:gone`;
        }
      })
      .join('|');
  }

  /** Re-reads every rule file: all good, the new groups replace the old; any problem, nothing changes. */
  async reload(): Promise<ReloadOutcome> {
    const fingerprint = this.currentFingerprint();
    const specs: GroupSpec[] = [];
    const problems: string[] = [];
    for (const f of this.files()) {
      try {
        specs.push(...loadRuleFile(f));
      } catch (e) {
        if (!(e instanceof RuleFileError)) throw e;
        problems.push(...e.problems);
      }
    }
    this.fingerprint = fingerprint;
    if (problems.length > 0) {
      this.reloadOk.set(0);
      this.opts.logger?.error({ problems }, 'rule files not loaded; the previous rules keep running');
      this.lastReload = { ok: false, problems };
      return this.lastReload;
    }
    const next = new Map<string, Group>();
    for (const spec of specs) {
      if (this.opts.owns && !this.opts.owns(`${this.opts.tenant}/${spec.file}/${spec.name}`)) continue;
      const key = `${spec.file}\u0000${spec.name}`;
      const g = new Group({
        tenant: this.opts.tenant,
        spec,
        defaultIntervalMs: this.opts.defaultIntervalMs,
        defaultQueryOffsetMs: this.opts.defaultQueryOffsetMs,
        queries: this.opts.queries,
        writer: this.opts.writer,
        externalLabels: this.opts.externalLabels,
        externalURL: this.opts.externalURL,
        queryTimeoutMs: this.opts.queryTimeoutMs,
        outageToleranceMs: this.opts.outageToleranceMs,
        forGracePeriodMs: this.opts.forGracePeriodMs,
        resendDelayMs: this.opts.resendDelayMs,
        notify: this.opts.notify,
        metrics: this.metrics,
        logger: this.opts.logger,
      });
      next.set(key, g);
    }
    const old = this.groups;
    for (const g of old.values()) await g.stop();
    for (const [key, g] of next) {
      const prev = old.get(key);
      if (prev) g.copyStateFrom(prev);
      if (this.started) g.start(!prev && (this.opts.restoreForState ?? true));
    }
    this.groups = next;
    this.reloadOk.set(1);
    this.reloadTime.set(Date.now() / 1000);
    this.opts.logger?.info({ groups: next.size, rules: specs.reduce((n, s) => n + s.rules.length, 0) }, 'rule files loaded');
    this.lastReload = { ok: true, problems: [] };
    return this.lastReload;
  }

  /** The groups of a tenant, in file and file order. */
  groupsOf(tenant: string): Group[] {
    return [...this.groups.values()].filter((g) => g.tenant === tenant);
  }

  async stop(): Promise<void> {
    clearInterval(this.pollTimer);
    for (const g of this.groups.values()) await g.stop();
  }
}
