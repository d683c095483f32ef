// The long-running process: config + engine + metrics + API, with reload and a bounded shutdown.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { startAlerting } from './alerting/index.js';
import { ConfigError, currentConfigHash, loadConfig, type WatchdogConfig } from './config/load.js';
import type { Settings } from './config/settings.js';
import { Engine } from './engine/engine.js';
import { ThreadedEngine } from './engine/thread.js';
import { Discovery } from './discovery/discovery.js';
import type { DiscoveryState } from './discovery/state.js';
import { createMetrics, kindGauges, stackLabels, type ReloadStatus } from './metrics/registry.js';
import { ownContainerId, resolveStack, type Stack } from './config/stack.js';
import { probeLines } from './metrics/probeFamilies.js';
import { probers } from './probers/index.js';
import { ProbeRenderings } from './report/rendered.js';
import { createDockerClient, type DockerClient } from './net/docker.js';
import { createHttpClient, type HttpClient } from './net/http.js';
import { buildApp } from './server/app.js';
import { Maintenance } from './maintenance/manager.js';
import { Incidents } from './incidents/incidents.js';
import { systemTimers, type Timers } from './util/timers.js';

export interface DaemonDeps {
  logger: Logger;
  http?: HttpClient;
  docker?: DockerClient;
  now?: () => number;
  /** What the scheduler, discovery, maintenance, the direct alert path and the config poll run on. */
  timers?: Timers;
  /** Off in tests that start many daemons. */
  processMetrics?: boolean;
  /** The watchdog's own container, whose compose project names the stack; default: ownContainerId(). */
  ownContainer?: string;
}

export interface Daemon {
  app: FastifyInstance;
  engine: Engine;
  /** What discovery last reported (src/discovery/). */
  discovery: DiscoveryState;
  /** http://host:port the API listens on. */
  url: string;
  /** The stack's name and where it came from (config/stack.ts): the `stack` label of every series and direct alert. */
  stack: Stack;
  config: () => WatchdogConfig;
  /** Loads the config again; false (and the old config keeps running) when it is invalid. */
  reload(): Promise<boolean>;
  stop(): Promise<void>;
}

export function createClients(settings: Settings, deps: Pick<DaemonDeps, 'http' | 'docker'>) {
  return {
    http: deps.http ?? createHttpClient({ userAgent: userAgent(settings) }),
    docker: deps.docker ?? createDockerClient({ dockerHost: settings.dockerHost }),
  };
}

const userAgent = (settings: Settings) => `stack-watchdog/${settings.version}`;

/** Throws ConfigError when the config is invalid at start: there is no last good config to fall back on. */
export async function startDaemon(settings: Settings, deps: DaemonDeps): Promise<Daemon> {
  const { logger } = deps;
  const now = deps.now ?? Date.now;
  const timers = deps.timers ?? systemTimers;
  let config = await loadConfig(settings.configPath, settings.env, settings.configLimits);
  let reloadStatus: ReloadStatus = { ok: true, at: now(), hash: config.hash, loadedAt: now() };
  /** The config content the last load attempt saw: the poll reloads when the files differ from it. */
  let seenHash = config.hash ?? '';
  const { http, docker } = createClients(settings, deps);

  // Before anything is exposed: every series and direct alert carries it, from the first scrape on.
  const stack = await resolveStack({ stack: settings.stack, composeProjectName: settings.composeProjectName, ownContainer: deps.ownContainer ?? ownContainerId(), docker, config });

  const engineOptions = { http, docker, logger, now, timers, concurrency: settings.concurrency };
  // Injected clients (tests) mean runs on this thread: the probe thread builds clients of its own.
  const engine =
    settings.probeThread === 'worker' && !deps.http && !deps.docker
      ? new ThreadedEngine({ ...engineOptions, thread: { userAgent: userAgent(settings), dockerHost: settings.dockerHost, logLevel: settings.logLevel } })
      : new Engine(engineOptions);
  engine.load(config);
  // Discovered probes are there before the first round (a Docker that cannot be listed costs at most the discover timeout).
  const discovery = new Discovery({ engine, docker, logger, now, timers });
  discovery.configure(config);
  await discovery.refresh();
  const maintenance = new Maintenance({ logger, now, timers, http, stateDir: settings.stateDir, stack: stack.name, specs: () => engine.states().map((s) => s.spec) });
  maintenance.configure(config);
  await maintenance.start();
  const inMaintenance = (s: { spec: Parameters<Maintenance['covering']>[0] }) => maintenance.covering(s.spec) !== undefined;
  const incidents = new Incidents({ logger, now, stateDir: settings.stateDir, maintenanceOf: (s) => maintenance.covering(s.spec)?.id });
  await incidents.load();
  incidents.retain(engine.states().map((s) => s.spec.name));
  engine.on('result', (state) => incidents.observe(state));
  // Each probe rendered once per change, for every view at once (/status, the text table, the page,
  // /metrics): here, where the report and metrics layers meet.
  const renderings = new ProbeRenderings({ lines: probeLines(kindGauges(probers), stackLabels(stack.name)), covering: (s) => maintenance.covering(s.spec) });
  const registry = createMetrics({
    engine,
    version: settings.version,
    stack: stack.name,
    reloadStatus: () => reloadStatus,
    processMetrics: deps.processMetrics,
    inMaintenance,
    maintenanceOpen: () => maintenance.active().length > 0,
    probeLines: (s) => renderings.ofAnyWindow(s).lines,
    discovery,
  });
  const app = await buildApp({
    engine,
    registry,
    renderings,
    logger,
    version: settings.version,
    reloadStatus: () => reloadStatus,
    adminToken: settings.adminToken,
    requestTimeoutMs: settings.apiRequestTimeoutMs,
    now,
    reload: () => reload(),
    maintenance,
    incidents,
    discovery,
  });
  await app.listen({ host: settings.host, port: settings.port });
  const addr = app.server.address();
  const url = typeof addr === 'object' && addr ? `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : String(addr);
  engine.start();
  discovery.start();
  // Host name only as an annotation: labels must match across replicas so Alertmanager merges them.
  const alerting = startAlerting({ engine, config: () => config, http, logger, now, timers, instance: hostname(), stack: stack.name, externalUrl: settings.externalUrl, registry, inMaintenance });
  // A window that opens or ends changes what should be firing: post now, not at the next renewal.
  maintenance.on('change', () => void alerting.flush());
  logger.info(
    {
      url,
      stack: stack.name,
      stackSource: stack.source,
      probeThread: engine instanceof ThreadedEngine ? 'worker' : 'main',
      probes: config.probes.length,
      disabled: config.disabled,
      files: config.files,
      version: settings.version,
    },
    'stack-watchdog started',
  );

  let reloading: Promise<boolean> | undefined;
  const reload = async (): Promise<boolean> => {
    // Two triggers at once (SIGHUP and a file event) make one reload, not two racing ones.
    reloading ??= (async () => {
      try {
        const next = await loadConfig(settings.configPath, settings.env, settings.configLimits);
        engine.load(next);
        discovery.configure(next);
        maintenance.configure(next);
        incidents.retain(engine.states().map((s) => s.spec.name));
        discovery.start();
        void discovery.refresh();
        config = next;
        seenHash = next.hash ?? seenHash;
        reloadStatus = { ok: true, at: now(), hash: next.hash, loadedAt: now() };
        logger.info({ probes: next.probes.length, disabled: next.disabled, files: next.files }, 'config reloaded');
        // A probe the reload removed may have a direct alert open: resolve it now, not at the next renewal.
        void alerting.flush();
        return true;
      } catch (err) {
        // Remembered, so the poll does not load the same refused files again: the hash of what was read,
        // or (refused before reading, e.g. over the size cap) what the poll itself would compute.
        seenHash = (err instanceof ConfigError ? err.hash : undefined) ?? (await currentConfigHash(settings.configPath, settings.configLimits));
        const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
        reloadStatus = { ...reloadStatus, ok: false, at: now(), error: problems.join('\n') };
        logger.error({ problems }, 'config reload refused; the previous config keeps running');
        return false;
      } finally {
        reloading = undefined;
      }
    })();
    return reloading;
  };

  // File events are quick but miss what they cannot see: a ConfigMap's ..data symlink swap, a
  // folder deleted and recreated (the watch dies with it). Every event and every poll compares
  // the files' content hash with the last one seen; only a change reloads.
  const reloadIfChanged = async (): Promise<void> => {
    if (reloading) return;
    if ((await currentConfigHash(settings.configPath, settings.configLimits)) !== seenHash) await reload();
  };
  const watcher = await watchConfig(settings.configPath, () => reloadIfChanged(), logger);
  const poll = timers.setInterval(() => void reloadIfChanged().catch((err: unknown) => logger.warn({ err }, 'config poll failed')), settings.configPollMs);
  poll.unref();

  return {
    app,
    engine,
    discovery,
    url,
    stack,
    config: () => config,
    reload,
    async stop() {
      timers.clear(poll);
      watcher?.close();
      discovery.stop();
      await alerting.stop();
      await maintenance.stop();
      await engine.stop(3000);
      await incidents.stop();
      await app.close();
      await http.close();
      logger.info('stack-watchdog stopped');
    },
  };
}

/** Reloads when a config file changes. Watches the folder: editors and ConfigMaps replace files rather than write them. */
async function watchConfig(path: string, reload: () => Promise<unknown>, logger: Logger): Promise<FSWatcher | undefined> {
  const isDir = (await stat(path)).isDirectory();
  const dir = isDir ? path : dirname(path);
  const only = isDir ? undefined : basename(path);
  let timer: NodeJS.Timeout | undefined;
  try {
    const watcher = watch(dir, (_event, file) => {
      if (only && file && file !== only) return;
      // A folder's ..data (ConfigMap) or any *.yaml; the hash check after the burst decides.
      if (file && !only && !/\.ya?ml$/.test(String(file)) && !String(file).startsWith('..data')) return;
      // Saves come as bursts of events; wait for the burst to end.
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), 300);
    });
    watcher.on('error', (err) => logger.warn({ err }, 'config watch failed; SIGHUP still reloads'));
    return watcher;
  } catch (err) {
    logger.warn({ err, path }, 'cannot watch the config for changes; SIGHUP still reloads');
    return undefined;
  }
}
