// Discovery: one container_state probe per container that carries the configured labels (by default the
// compose project's), named container-<compose service>, kept up to date on a timer without a reload.
// The probes are bound through the kind's own bind(), exactly as the loader binds a written probe, and
// handed to the engine with setDiscovered(); the kind knows nothing of discovery. Only `docker ps -a`
// with label filters is asked of the Engine here. What discovery last saw is its own, read through
// DiscoveryState (state.ts) by /status, /metrics and `watchdog check`.
import type { Logger } from 'pino';
import { DISCOVERED_KIND, type DiscoverConfig } from '../config/discover.js';
import type { WatchdogConfig } from '../config/load.js';
import type { ContainerSummary, DockerClient } from '../net/docker.js';
import { proberFor, probers } from '../probers/index.js';
import type { ProbeSpec } from '../probers/types.js';
import { iso } from '../util/format.js';
import { systemTimers, type Timer, type Timers } from '../util/timers.js';
import type { Engine } from '../engine/engine.js';
import type { DiscoveryState, DiscoveryStatus } from './state.js';

export const SERVICE_LABEL = 'com.docker.compose.service';
export const PROJECT_LABEL = 'com.docker.compose.project';
export const NUMBER_LABEL = 'com.docker.compose.container-number';

export interface DiscoveryOptions {
  engine: Engine;
  docker: DockerClient;
  logger: Logger;
  now: () => number;
  /** What the listing interval runs on (beside `now`). */
  timers?: Timers;
}

/** A discovered probe, and what it was made from (for deciding whether anything changed). */
interface Made {
  spec: ProbeSpec;
  key: string;
}

export class Discovery implements DiscoveryState {
  private config?: DiscoverConfig;
  private written: ProbeSpec[] = [];
  private timer?: Timer;
  private running?: Promise<void>;
  private signature = '';
  private status: DiscoveryStatus | undefined;

  constructor(private readonly opts: DiscoveryOptions) {}

  /** Takes a (re)loaded config. Without a discover block, discovered probes go and discovery stops. */
  configure(config: WatchdogConfig): void {
    const before = this.config?.intervalMs;
    this.config = config.discover;
    this.written = config.probes;
    if (!this.config) {
      this.stopTimer();
      this.signature = '';
      this.status = undefined;
      this.opts.engine.setDiscovered([]);
      return;
    }
    this.status ??= { status: 'pending', message: 'no listing yet', endpoint: (this.config.docker ?? this.opts.docker).endpoint, lastSuccess: null, lastAttempt: null, containers: 0, probes: [] };
    // A new interval takes effect now; the set itself is re-derived at the next refresh.
    if (this.timer && before !== this.config.intervalMs) {
      this.stopTimer();
      this.start();
    }
    // The written probes may now name a container discovery had: re-derive at the next refresh.
    this.signature = '';
  }

  /** What the last listing found; undefined without a discover block. */
  current(): DiscoveryStatus | undefined {
    return this.status;
  }

  /** Lists every discover.interval, and now unless a listing was already made (the daemon lists before its first round). */
  start(): void {
    if (!this.config || this.timer) return;
    this.timer = (this.opts.timers ?? systemTimers).setInterval(() => void this.refresh(), this.config.intervalMs);
    this.timer.unref();
    if (!this.status?.lastAttempt) void this.refresh();
  }

  stop(): void {
    this.stopTimer();
  }

  private stopTimer(): void {
    (this.opts.timers ?? systemTimers).clear(this.timer);
    this.timer = undefined;
  }

  /** One listing; overlapping calls share the one in flight. */
  refresh(): Promise<void> {
    this.running ??= this.list().finally(() => (this.running = undefined));
    return this.running;
  }

  private async list(): Promise<void> {
    const config = this.config;
    if (!config) return;
    const { engine, logger, now } = this.opts;
    const docker = config.docker ?? this.opts.docker;
    const at = now();
    const previous = this.status!;
    let containers: ContainerSummary[];
    try {
      containers = await docker.list(config.labels, AbortSignal.timeout(Math.min(config.common.timeoutMs, config.intervalMs)));
    } catch (err) {
      // Reconfigured (or switched off) while listing: this answer belongs to a block that is gone.
      if (this.config !== config) return this.list();
      const kept = previous.probes.length;
      const since = previous.lastSuccess ? ` found at ${iso(previous.lastSuccess)}` : '';
      const message = `cannot list containers at ${docker.endpoint}: ${(err as Error).message}; keeping the ${kept} discovered probe(s)${since}`;
      if (previous.status !== 'stale') logger.warn({ err, endpoint: docker.endpoint }, 'discovery cannot reach Docker; keeping the last set');
      this.status = { ...previous, status: previous.lastSuccess ? 'stale' : 'pending', message, lastAttempt: at };
      return;
    }
    // Reconfigured while listing: list again for the new block now, not one interval later.
    if (this.config !== config) return this.list();
    const made = discoveredSpecs(config, this.written, containers, (msg, extra) => logger.warn(extra, msg));
    const signature = made.map((m) => m.key).join('\n');
    if (signature !== this.signature) {
      const before = new Set(previous.probes);
      const after = made.map((m) => m.spec.name);
      engine.setDiscovered(made.map((m) => m.spec));
      this.signature = signature;
      logger.info({ added: after.filter((n) => !before.has(n)), removed: [...before].filter((n) => !after.includes(n)), probes: after.length }, 'discovered probes changed');
    }
    const probes = made.map((m) => m.spec.name);
    this.status = {
      status: 'ok',
      message: `${containers.length} container(s) with ${config.labels.join(', ')}; ${probes.length} discovered probe(s)`,
      endpoint: docker.endpoint,
      lastSuccess: at,
      lastAttempt: at,
      containers: containers.length,
      probes,
    };
  }
}

/**
 * The probes for the listed containers, in name order: container-<service>, the container's name when
 * the service label is missing, `-<n>` for replicas beyond the first. Left out: containers with the
 * ignore label or named in `ignore`, and containers a written container_state probe already watches.
 *
 * A container's memory limit has one judge. A written probe of a kind that declares `no_limit` and
 * watches the container other than as its state (container_memory: it knows the limit expected and the
 * usage) owns the verdict; the discovered probe checks the limit (discover.probe.requireLimit) only on
 * containers nobody else judges. The discovered fields are built from that rule, never copied from the
 * block and then overridden, so two verdicts on one limit cannot be made.
 */
export function discoveredSpecs(config: DiscoverConfig, written: ProbeSpec[], containers: ContainerSummary[], warn: (msg: string, extra: object) => void = () => {}): Made[] {
  const prober = proberFor(DISCOVERED_KIND);
  if (!prober) return [];
  const watchedBy = (kind: string) =>
    written
      .filter((p) => p.kind === kind)
      .map((p) => containerOf(p))
      .filter((c): c is string => c !== undefined);
  const stateWatched = watchedBy(DISCOVERED_KIND);
  const limitWatched = limitJudges().flatMap(watchedBy);
  const writtenNames = new Set(written.map((p) => p.name));
  const out: Made[] = [];
  const taken = new Set<string>();
  const named = containers.map((c) => ({ c, container: (c.Names[0] ?? c.Id).replace(/^\//, '') })).sort((a, b) => a.container.localeCompare(b.container));
  for (const { c, container } of named) {
    const labels = c.Labels ?? {};
    const service = labels[SERVICE_LABEL];
    if (labels[config.ignoreLabel.key] === config.ignoreLabel.value) continue;
    if (config.ignore.includes(container) || (service !== undefined && config.ignore.includes(service))) continue;
    const matches = (ref: string) => ref === container || ref === c.Id || (ref.length >= 12 && c.Id.startsWith(ref));
    if (stateWatched.some(matches)) continue;
    const name = probeName(`${config.host ? `${config.host}-` : ''}${service ?? container}`, Number(labels[NUMBER_LABEL]));
    if (writtenNames.has(name) || taken.has(name)) {
      warn('discovered container left out: its probe name is taken', { container, probe: name });
      continue;
    }
    const judgesLimit = config.requireLimit && !limitWatched.some(matches);
    const fields = { ...config.fields, container, requireLimit: judgesLimit };
    const project = labels[PROJECT_LABEL];
    const description = config.common.description ?? `discovered: container ${container}${service ? ` of compose service ${service}` : ''}${project ? ` in project ${project}` : ''}`;
    const bound = prober.bind(fields, { ...config.common, name, description, discovered: true });
    if (!bound.ok) {
      warn('discovered container left out: its probe does not bind', { container, problems: bound.problems });
      continue;
    }
    taken.add(name);
    out.push({ spec: bound.spec, key: `${name}|${container}|${judgesLimit}` });
  }
  return out;
}

/** The kinds other than the discovered one that judge a container's limit: those declaring `no_limit`. */
function limitJudges(): string[] {
  return Object.entries(probers)
    .filter(([kind, prober]) => kind !== DISCOVERED_KIND && Object.hasOwn(prober.reasons, 'no_limit'))
    .map(([kind]) => kind);
}

/** container-<base>[-n]: lowercase letters, digits and "-", at most 64 characters, as every probe name. */
export function probeName(base: string, number: number): string {
  const suffix = Number.isInteger(number) && number > 1 ? `-${number}` : '';
  const clean = `container-${base}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/-$/, '');
  return `${clean.slice(0, 64 - suffix.length).replace(/-$/, '')}${suffix}`;
}

/** The container a written container probe names (its decoded `container` field). */
function containerOf(spec: ProbeSpec): string | undefined {
  const settings: object = spec.settings;
  return 'container' in settings && typeof settings.container === 'string' ? settings.container : undefined;
}
