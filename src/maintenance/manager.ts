// Maintenance windows at run time: the config's windows and those opened over the API, which probes
// they cover now, their end (by a timer, logged), the state file, and optional Alertmanager silences.
// Probes keep running during a window; only paging stops (src/alerting reads `covering`).
//
// With silences on, Alertmanager is the store that replicas share: an API window is written into its
// silence's comment (id, reason, selector), every replica reads the silences back (`sync`) and takes
// up the windows another opened, and a window whose silence was expired elsewhere ends here too. The
// state file is the cache for when Alertmanager cannot be reached.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { MaintenanceConfig } from '../config/maintenance.js';
import type { WatchdogConfig } from '../config/load.js';
import type { HttpClient } from '../net/http.js';
import { createSilence, expireSilence, labelIn, listSilences, type PostableSilence, type Silence } from '../probers/alertmanagerApi.js';
import type { CommonSpec } from '../probers/types.js';
import { iso } from '../util/format.js';
import { systemTimers, type Timer, type Timers } from '../util/timers.js';
import { isSelector, readState, writeState, type StateFile } from './state.js';
import { ConfigClock, covers, selectsAll, type MaintenanceSelector, type Window } from './windows.js';

export type { Window } from './windows.js';

export interface MaintenanceOptions {
  logger: Logger;
  now: () => number;
  http: HttpClient;
  /** The folder of the state file; none: API windows end with the process. */
  stateDir?: string;
  /** The probes now (silences list the names a window covers). */
  specs?: () => Spec[];
  /** How often windows are checked for their start and end. */
  tickMs?: number;
  /** What that check runs on (beside `now`): a test moves it past a window's end instead of sleeping. */
  timers?: Timers;
  /** How often the silences are read back for windows other replicas opened or ended (silences on). */
  syncMs?: number;
  /**
   * The stack's name (config/stack.ts): a window's silence matches only this stack's alerts, and only
   * silences of this stack are taken up, so stacks sharing one Alertmanager keep their windows apart.
   */
  stack?: string;
}

export interface OpenRequest {
  durationMs: number;
  reason: string;
  selector: MaintenanceSelector;
}

/** How long the list of open windows is reused; a window that starts is seen this much later at most. */
const CACHE_MS = 200;
/** Who made a silence: the watchdog's own are recognised by it. */
const CREATED_BY = 'stack-watchdog';
/** The comment of an API window's silence: people read the first line, replicas the whole. */
const COMMENT = /^maintenance (m-[0-9a-f]{8}): ([\s\S]*)\n\(stack-watchdog window, selector (\{.*\})\)$/;

function silenceComment(w: Window): string {
  const text = `maintenance ${w.id}: ${w.reason}`;
  return w.source === 'api' ? `${text}\n(stack-watchdog window, selector ${JSON.stringify(w.selector)})` : text;
}

/** The API window a silence of ours stands for; undefined for any other silence (config windows' too: every replica has its config). */
function windowOf(s: Silence): Window | undefined {
  const m = s.createdBy === CREATED_BY ? COMMENT.exec(s.comment) : null;
  if (!m) return undefined;
  let selector: unknown;
  try {
    selector = JSON.parse(m[3]!);
  } catch {
    return undefined;
  }
  return isSelector(selector) ? { id: m[1]!, source: 'api', reason: m[2]!, startsAt: s.startsAt, endsAt: s.endsAt, selector } : undefined;
}

type Spec = Pick<CommonSpec, 'name' | 'kind' | 'labels'>;

export class Maintenance extends EventEmitter<{ change: [] }> {
  private config?: MaintenanceConfig;
  private clocks: ConfigClock[] = [];
  private readonly api = new Map<string, Window>();
  private readonly silences = new Map<string, { silenceId: string; endsAt: number }>();
  /** Windows open at the last tick: the difference to the next one is what started and ended. */
  private seen = new Map<string, Window>();
  private timer?: Timer;
  private syncTimer?: Timer;
  private syncing?: Promise<void>;
  /** Windows ended here early, by silence id: a silence that could not be expired yet must not bring its window back. */
  private readonly endedHere = new Map<string, string>();
  private writing: Promise<void> = Promise.resolve();
  private readonly logger: Logger;
  private cache?: { at: number; list: Window[] };

  constructor(private readonly opts: MaintenanceOptions) {
    super();
    this.logger = opts.logger.child({ component: 'maintenance' });
  }

  configure(config: WatchdogConfig): void {
    this.config = config.maintenance;
    this.clocks = (config.maintenance?.windows ?? []).map((w) => new ConfigClock(w));
    this.cache = undefined;
    // A reload that adds, changes or removes a window applies now, not at the next tick.
    if (this.timer) this.tick();
  }

  get maxDurationMs(): number {
    return this.config?.maxApiDurationMs ?? 24 * 3_600_000;
  }

  /** Reads the state file (expired windows dropped; a bad file is logged and ignored), then ticks. */
  async start(): Promise<void> {
    if (this.opts.stateDir) {
      const read = await readState(this.opts.stateDir);
      const now = this.opts.now();
      if (!read.ok) this.logger.error({ problem: read.problem }, 'maintenance state file ignored: it cannot be used; API windows from before the restart are lost');
      for (const w of (read.ok && read.state?.windows) || []) if (w.endsAt > now) this.api.set(w.id, w);
      for (const [id, s] of Object.entries((read.ok && read.state?.silences) || {})) if (s.endsAt > now) this.silences.set(id, s);
      if (this.api.size) this.logger.info({ windows: [...this.api.keys()] }, 'maintenance windows restored from the state file');
    }
    // Before the first tick: a window another replica opened holds from the start, not a sync later.
    await this.sync();
    this.tick();
    const timers = this.opts.timers ?? systemTimers;
    this.timer = timers.setInterval(() => this.tick(), this.opts.tickMs ?? 1000);
    this.timer.unref();
    this.syncTimer = timers.setInterval(() => void this.sync(), this.opts.syncMs ?? 5000);
    this.syncTimer.unref();
  }

  async stop(): Promise<void> {
    const timers = this.opts.timers ?? systemTimers;
    timers.clear(this.timer);
    timers.clear(this.syncTimer);
    await this.syncing;
    await this.writing;
  }

  /**
   * Reads the silences back: takes up the API windows of silences this replica does not know (another
   * replica opened them), ends the windows whose silence was expired (another replica ended them), and
   * expires again what was ended here while Alertmanager could not be reached. Unreachable: the windows
   * known (the state file's) hold, and the next sync tries again.
   */
  sync(): Promise<void> {
    const urls = this.config?.silenceUrls;
    if (!urls || this.syncing) return this.syncing ?? Promise.resolve();
    // Short: the first read holds up the start, and a later one that fails is tried again soon.
    this.syncing = listSilences(this.opts.http, urls, AbortSignal.timeout(3000))
      .then((silences) => this.adopt(silences))
      .catch((err: unknown) => this.logger.debug({ err: (err as Error).message }, 'cannot read the alertmanager silences; the windows known here hold'))
      .finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private adopt(silences: Silence[]): void {
    const now = this.opts.now();
    const byId = new Map(silences.map((s) => [s.id, s]));
    let changed = false;
    for (const [id, silenceId] of this.endedHere) {
      const state = byId.get(silenceId)?.state;
      if (state === undefined || state === 'expired') this.endedHere.delete(id);
      else void this.expireSilence(id, silenceId);
    }
    for (const s of silences) {
      // Another stack's window (same probe names, same Alertmanager) is not this stack's to keep.
      if (this.opts.stack !== undefined && s.stack !== this.opts.stack) continue;
      const w = windowOf(s);
      if (!w || s.state === 'expired' || w.endsAt <= now || this.api.has(w.id) || this.endedHere.has(w.id)) continue;
      this.api.set(w.id, w);
      this.silences.set(w.id, { silenceId: s.id, endsAt: w.endsAt });
      this.logger.info({ id: w.id, silenceId: s.id, reason: w.reason, until: iso(w.endsAt) }, 'maintenance window taken up from its alertmanager silence (opened by another replica)');
      changed = true;
    }
    for (const [id, w] of this.api) {
      const silence = this.silences.get(id);
      if (!silence || byId.get(silence.silenceId)?.state !== 'expired' || w.endsAt <= now) continue;
      // Ended early elsewhere: its silence is gone already, so nothing is expired from here.
      this.api.delete(id);
      this.silences.delete(id);
      this.logger.info({ id, silenceId: silence.silenceId }, 'maintenance window ended: its alertmanager silence was expired (by another replica or by hand)');
      changed = true;
    }
    if (!changed) return;
    this.cache = undefined;
    this.persist();
    this.tick();
  }

  /** Open windows, soonest end first. Kept for a moment: a scrape asks once per probe. */
  active(now = this.opts.now()): Window[] {
    const cached = this.cache;
    // Soonest end first, so the first says whether all are still open; no closure per call, as /metrics
    // asks for every probe at every scrape (that closure was two fifths of what a scrape allocated at 1,000
    // probes: sampling heap profile under `npm run bench:scale`).
    if (cached && now >= cached.at && now - cached.at < CACHE_MS && (cached.list.length === 0 || cached.list[0]!.endsAt > now)) return cached.list;
    const open = [...[...this.api.values()].filter((w) => w.startsAt <= now && now < w.endsAt), ...this.clocks.flatMap((c) => c.open(now) ?? [])];
    this.cache = { at: now, list: open.sort((a, b) => a.endsAt - b.endsAt) };
    return this.cache.list;
  }

  /** The next occurrence of each config window that is not open now. */
  upcoming(now = this.opts.now()): Window[] {
    return this.clocks.flatMap((c) => (c.open(now) ? [] : (c.next(now) ?? []))).sort((a, b) => a.startsAt - b.startsAt);
  }

  /** The open window that covers the probe for longest, if any. */
  covering(spec: Spec, now = this.opts.now()): Window | undefined {
    // The last open window that covers it, found without a filtered copy (see `active`).
    const open = this.active(now);
    for (let i = open.length - 1; i >= 0; i--) if (covers(open[i]!.selector, spec)) return open[i];
    return undefined;
  }

  /** Opens a window now; refuses names and kinds that match no probe (a typo would cover nothing). */
  open(req: OpenRequest, specs: Spec[]): { ok: true; window: Window } | { ok: false; problem: string } {
    if (req.durationMs > this.maxDurationMs) return { ok: false, problem: `duration: over the ${this.maxDurationMs / 3_600_000}h cap (maintenance.maxDuration)` };
    const unknown = req.selector.probes.filter((p) => !specs.some((s) => s.name === p));
    if (unknown.length) return { ok: false, problem: `probes: no probe named ${unknown.map((p) => `"${p}"`).join(', ')}` };
    const noKind = req.selector.kinds.filter((k) => !specs.some((s) => s.kind === k));
    if (noKind.length) return { ok: false, problem: `kinds: no probe of kind ${noKind.map((k) => `"${k}"`).join(', ')}` };
    if (!selectsAll(req.selector) && !specs.some((s) => covers(req.selector, s))) return { ok: false, problem: 'labels: no probe carries these labels' };
    const now = this.opts.now();
    const window: Window = { id: `m-${randomBytes(4).toString('hex')}`, source: 'api', reason: req.reason, startsAt: now, endsAt: now + req.durationMs, selector: req.selector };
    this.api.set(window.id, window);
    this.cache = undefined;
    this.tick();
    return { ok: true, window };
  }

  /** Ends an API window early; config windows end only by editing the file. */
  end(id: string): { ok: true; window: Window } | { ok: false; status: 404 | 409; problem: string } {
    const window = this.api.get(id);
    if (!window) {
      const config = this.active().find((w) => w.id === id);
      if (config)
        return { ok: false, status: 409, problem: `window "${id}" comes from the config (${this.clocks.find((c) => id.split('@')[0] === c.window.name)?.window.file}); edit the file to change it` };
      return { ok: false, status: 404, problem: `no open maintenance window "${id}"` };
    }
    this.api.delete(id);
    this.cache = undefined;
    this.seen.delete(id);
    this.logger.info({ id, reason: window.reason, plannedEnd: iso(window.endsAt) }, 'maintenance window ended early');
    const silence = this.silences.get(id);
    if (silence) {
      this.silences.delete(id);
      this.endedHere.set(id, silence.silenceId);
      void this.expireSilence(id, silence.silenceId);
    }
    this.persist();
    this.emit('change');
    return { ok: true, window: { ...window, endsAt: this.opts.now() } };
  }

  /** Notices windows that started or ended since the last tick: logs them, makes silences, tells listeners. */
  private tick(): void {
    const now = this.opts.now();
    let apiChanged = false;
    for (const [id, w] of this.api) {
      if (w.endsAt > now) continue;
      this.api.delete(id);
      this.cache = undefined;
      apiChanged = true;
    }
    const open = new Map(this.active(now).map((w) => [w.id, w]));
    let changed = false;
    for (const [id, w] of this.seen) {
      if (open.has(id)) continue;
      changed = true;
      const silence = this.silences.get(id);
      this.silences.delete(id);
      // Gone before its end (a reload removed or changed it): its silence must not outlive it.
      if (silence && w.endsAt > now) void this.expireSilence(id, silence.silenceId);
      this.logger.info({ id, reason: w.reason, source: w.source, endedAt: iso(Math.min(now, w.endsAt)) }, 'maintenance window ended');
    }
    for (const [id, w] of open) {
      if (this.seen.has(id)) continue;
      changed = true;
      this.logger.info({ id, reason: w.reason, source: w.source, until: iso(w.endsAt), selector: w.selector }, 'maintenance window started');
      if (this.config?.silenceUrls && !this.silences.has(id)) void this.createSilence(w, this.config.silenceUrls);
    }
    this.seen = open;
    if (apiChanged || changed) this.persist();
    if (changed) this.emit('change');
  }

  private persist(): void {
    const dir = this.opts.stateDir;
    if (!dir) return;
    const state: StateFile = {
      version: 1,
      windows: [...this.api.values()].map((w) => ({ ...w, source: 'api' as const })),
      silences: Object.fromEntries(this.silences),
    };
    // One write at a time, in order: the last state written is the last state known.
    this.writing = this.writing.then(() => writeState(dir, state)).catch((err: unknown) => this.logger.error({ err, dir }, 'cannot write the maintenance state file'));
  }

  /** The probes' alerts are what a silence must match: the label `probe`, as both alert paths set it. */
  private async createSilence(w: Window, urls: string[]): Promise<void> {
    const all = selectsAll(w.selector);
    const names = all ? [] : (this.opts.specs?.() ?? []).filter((s) => covers(w.selector, s)).map((s) => s.name);
    if (!all && !names.length) return;
    const body: PostableSilence = {
      matchers: [labelIn('probe', all ? 'any' : names), ...(this.opts.stack === undefined ? [] : [{ name: 'stack', value: this.opts.stack, isRegex: false, isEqual: true }])],
      startsAt: iso(Math.min(this.opts.now(), w.startsAt)),
      endsAt: iso(w.endsAt),
      createdBy: CREATED_BY,
      comment: silenceComment(w),
    };
    try {
      const silenceId = await createSilence(this.opts.http, urls, body, AbortSignal.timeout(10_000));
      // The window may have ended while the request was out: expire what was just made.
      if (!this.seen.has(w.id)) return void this.expireSilence(w.id, silenceId);
      this.silences.set(w.id, { silenceId, endsAt: w.endsAt });
      this.persist();
      this.logger.info({ id: w.id, silenceId, matchers: body.matchers }, 'alertmanager silence created for the maintenance window');
    } catch (err) {
      this.logger.warn({ id: w.id, err: (err as Error).message }, 'cannot create the alertmanager silence for the maintenance window; the direct path and the rules still hold back pages');
    }
  }

  private async expireSilence(id: string, silenceId: string): Promise<void> {
    const urls = this.config?.silenceUrls;
    if (!urls) return;
    try {
      await expireSilence(this.opts.http, urls, silenceId, AbortSignal.timeout(10_000));
      this.logger.info({ id, silenceId }, 'alertmanager silence expired with the maintenance window');
    } catch (err) {
      this.logger.warn({ id, silenceId, err: (err as Error).message }, 'cannot expire the alertmanager silence; it runs out at the planned end');
    }
  }
}
