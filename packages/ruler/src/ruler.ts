/**
 * The ruler: rule groups from rule files (globs, for one tenant) and from the bucket (every
 * tenant's groups, stored through the configuration API), each group on its own schedule. Files
 * are re-read when they change, the bucket is listed, on every poll and on reload(). A reload with
 * any bad file keeps every file's previous groups running and reports the problems; a bad stored
 * group keeps its own previous version (one tenant's mistake stops no one else's rules). Groups
 * whose rules did not change keep running untouched; changed ones keep their alert state.
 */
import fs from 'node:fs';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { NotifyFunc } from './alert.js';
import { glob } from './glob.js';
import { Group } from './group.js';
import type { RuleQueries, RuleWriter } from './interfaces.js';
import { RulerMetrics } from './metrics.js';
import { loadRuleFile, parseRuleGroup, RuleFileError, type GroupSpec } from './rule-file.js';
import type { StoredGroup } from './rule-store.js';

/** Where stored groups come from (the bucket's rule store). */
export interface StoredGroups {
  loadAll(): Promise<StoredGroup[]>;
}

export interface RulerOptions {
  /** Rule file globs. */
  ruleFiles: readonly string[];
  /** The tenant the rule files' groups belong to. */
  tenant: string;
  /** Every tenant's groups stored in the bucket; unset: rule files only. */
  store?: StoredGroups;
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
  /** How often rule files and the store are checked for changes; 0: only on reload(). */
  pollIntervalMs?: number;
  registry?: Registry;
  logger?: Logger;
}

export interface ReloadOutcome {
  ok: boolean;
  problems: string[];
}

/** A group to run: its tenant and spec, and what identifies its content. */
interface Wanted {
  tenant: string;
  spec: GroupSpec;
  content: string;
}

export class Ruler {
  private groups = new Map<string, { group: Group; content: string }>();
  private fingerprint = '';
  /** The last good rule files' groups, kept while the files have problems. */
  private fileGroups: Wanted[] = [];
  /** Stored groups by key, with the text they were parsed from (parsed again only when it changes). */
  private stored = new Map<string, { text: string; wanted: Wanted }>();
  /** The problems of the files as last read (they stay until the files change). */
  private fileProblems: string[] = [];
  private forceFiles = false;
  private reloading: Promise<ReloadOutcome> | undefined;
  private again = false;
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
      this.pollTimer = setInterval(() => void this.reload({ filesIfChanged: true }), poll);
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

  /**
   * Re-reads every rule file and the store. Calls while one runs are folded into one more run
   * after it, so a change is never missed and reloads never overlap.
   */
  reload(o: { filesIfChanged?: boolean } = {}): Promise<ReloadOutcome> {
    if (!o.filesIfChanged) this.forceFiles = true;
    else if (!this.opts.store && this.currentFingerprint() === this.fingerprint) return Promise.resolve(this.lastReload);
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    const run = async (): Promise<ReloadOutcome> => {
      try {
        let out: ReloadOutcome;
        do {
          this.again = false;
          out = await this.reloadOnce();
        } while (this.again);
        return out;
      } finally {
        this.reloading = undefined;
      }
    };
    return (this.reloading = run());
  }

  private async reloadOnce(): Promise<ReloadOutcome> {
    const fingerprint = this.currentFingerprint();
    const problems: string[] = [];
    let loaded = false;
    // Files are parsed again only when they changed or on an explicit reload: parsing thousands
    // of rules every poll would cost more CPU than evaluating them.
    if (this.forceFiles || fingerprint !== this.fingerprint) {
      this.forceFiles = false;
      loaded = true;
      const specs: GroupSpec[] = [];
      for (const f of this.files()) {
        try {
          specs.push(...loadRuleFile(f));
        } catch (e) {
          if (!(e instanceof RuleFileError)) throw e;
          problems.push(...e.problems);
        }
      }
      this.fingerprint = fingerprint;
      this.fileProblems = problems.slice();
      if (problems.length > 0) this.opts.logger?.error({ problems }, 'rule files not loaded; the previous rules keep running');
      else this.fileGroups = specs.map((spec) => ({ tenant: this.opts.tenant, spec, content: specContent(spec) }));
    } else problems.push(...this.fileProblems);
    const storeProblems = this.opts.store ? await this.syncStore() : [];
    problems.push(...storeProblems);

    const wanted = new Map<string, Wanted>();
    for (const w of this.fileGroups) wanted.set(`file\u0000${w.tenant}\u0000${w.spec.file}\u0000${w.spec.name}`, w);
    for (const [key, s] of this.stored) wanted.set(key, s.wanted);
    const next = new Map<string, { group: Group; content: string }>();
    const starting: [Group, boolean][] = [];
    for (const [key, w] of wanted) {
      if (this.opts.owns && !this.opts.owns(`${w.tenant}/${w.spec.file}/${w.spec.name}`)) continue;
      const prev = this.groups.get(key);
      if (prev && prev.content === w.content) {
        next.set(key, prev);
        continue;
      }
      const g = this.newGroup(w);
      if (prev) {
        await prev.group.stop();
        g.copyStateFrom(prev.group);
      }
      next.set(key, { group: g, content: w.content });
      starting.push([g, !prev && (this.opts.restoreForState ?? true)]);
    }
    for (const [key, prev] of this.groups) if (!next.has(key) || next.get(key) !== prev) await prev.group.stop();
    if (this.started) for (const [g, restore] of starting) g.start(restore);
    this.groups = next;
    this.reloadOk.set(problems.length === 0 ? 1 : 0);
    if (problems.length === 0 && (loaded || starting.length > 0)) this.reloadTime.set(Date.now() / 1000);
    if (starting.length > 0 || next.size !== this.logged) {
      this.logged = next.size;
      this.opts.logger?.info({ groups: next.size, changed: starting.length }, 'rule groups loaded');
    }
    this.lastReload = { ok: problems.length === 0, problems };
    return this.lastReload;
  }

  private logged = -1;

  /** Lists the store; parses new or changed groups. A bad one keeps its previous version. */
  private async syncStore(): Promise<string[]> {
    const problems: string[] = [];
    let all: StoredGroup[];
    try {
      all = await this.opts.store!.loadAll();
    } catch (e) {
      // The bucket is unreachable: keep every stored group as it was.
      const msg = `rule groups not read from the bucket: ${(e as Error).message}`;
      this.opts.logger?.error({ err: e }, 'rule groups not read from the bucket; the previous ones keep running');
      return [msg];
    }
    const next = new Map<string, { text: string; wanted: Wanted }>();
    for (const sg of all) {
      const key = `store\u0000${sg.tenant}\u0000${sg.namespace}\u0000${sg.name}`;
      const prev = this.stored.get(key);
      if (prev && prev.text === sg.text) {
        next.set(key, prev);
        continue;
      }
      try {
        const spec = parseRuleGroup(sg.namespace, sg.text);
        if (spec.name !== sg.name)
          throw new RuleFileError([
            `${sg.namespace}: the group is stored as ${JSON.stringify(sg.name)} but named ${JSON.stringify(spec.name)}`,
          ]);
        next.set(key, { text: sg.text, wanted: { tenant: sg.tenant, spec, content: specContent(spec) } });
      } catch (e) {
        const list = e instanceof RuleFileError ? e.problems : [(e as Error).message];
        const msgs = list.map((p) => `tenant ${sg.tenant}: ${p}`);
        problems.push(...msgs);
        this.opts.logger?.error(
          { tenant: sg.tenant, namespace: sg.namespace, group: sg.name, problems: list },
          'stored rule group not loaded',
        );
        if (prev) next.set(key, prev);
      }
    }
    this.stored = next;
    return problems;
  }

  private newGroup(w: Wanted): Group {
    return new Group({
      tenant: w.tenant,
      spec: w.spec,
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
  }

  /** The groups of a tenant, in file and file order. */
  groupsOf(tenant: string): Group[] {
    return [...this.groups.values()].map((e) => e.group).filter((g) => g.tenant === tenant);
  }

  async stop(): Promise<void> {
    clearInterval(this.pollTimer);
    await this.reloading?.catch(() => undefined);
    for (const e of this.groups.values()) await e.group.stop();
  }
}

/** What a group runs, without its parsed expressions: equal content, equal group. */
function specContent(spec: GroupSpec): string {
  return JSON.stringify(spec, (k, v) => (k === 'ast' ? undefined : v));
}
