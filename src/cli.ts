#!/usr/bin/env node
// watchdog run | check | validate. Exit codes: 0 all good, 1 a probe failed (check), 2 bad config or usage.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDuration } from './core/fields.js';
import { ConfigError, loadConfig } from './config/load.js';
import { readSettings, SettingsError, type Settings } from './config/settings.js';
import { createClients, startDaemon } from './daemon.js';
import { Engine } from './engine/engine.js';
import { Discovery } from './discovery/discovery.js';
import { createLogger } from './util/log.js';
import { startProgress } from './report/progress.js';
import { statusReport, statusTable } from './report/view.js';
import { formatSeconds } from './util/format.js';
import { maintenanceCommand } from './maintenanceCli.js';
import { incidentsCommand } from './incidentsCli.js';

const usage = `usage: watchdog [run|check|validate] [options]

  run        the daemon (default): probes on schedule, /metrics, /status
  check      run the probes once, in dependency order; exit 0 if all pass, 1 if any fails
  validate   check the config; exit 0 if valid, 2 with one line per problem
  maintenance start|end|list   open or end a maintenance window of the running daemon (see watchdog maintenance --help)
  incidents  the running daemon's incidents and downtime per probe (see watchdog incidents --help)

options:
  -c, --config PATH     probe file or folder of *.yaml (default: $WATCHDOG_CONFIG or ./probes)
      --config.file PATH  the same, spelled as Prometheus does
      --web.listen-address HOST:PORT
                        run: where the API listens (default: $WATCHDOG_HOST:$WATCHDOG_PORT, 0.0.0.0:9469)
  -p, --probe NAME      check: only this probe (and what it depends on); repeatable
  -f, --format FORMAT   check: text (default) or json
  -w, --wait DURATION   check: re-run failing probes until all pass or DURATION (e.g. 2m) is up
  -h, --help

The table is coloured on a terminal unless NO_COLOR is set.
`;

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // A client of the running daemon, with options of its own.
  if (argv[0] === 'maintenance') return maintenanceCommand(argv.slice(1), env);
  if (argv[0] === 'incidents') return incidentsCommand(argv.slice(1), env);
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'config.file': { type: 'string' },
        'web.listen-address': { type: 'string' },
        wait: { type: 'string', short: 'w' },
        probe: { type: 'string', short: 'p', multiple: true },
        format: { type: 'string', short: 'f', default: 'text' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`watchdog: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const command = positionals[0] ?? 'run';
  if (positionals.length > 1 || !['run', 'check', 'validate'].includes(command)) {
    process.stderr.write(`watchdog: unknown command "${positionals.join(' ')}"\n\n${usage}`);
    return 2;
  }
  if (values.format !== 'text' && values.format !== 'json') {
    process.stderr.write(`watchdog: --format must be text or json, not "${values.format}"\n`);
    return 2;
  }
  let waitMs = 0;
  if (values.wait !== undefined) {
    const wait = parseDuration(values.wait);
    if (!wait.ok) {
      process.stderr.write(`watchdog: --wait: ${wait.problem}\n`);
      return 2;
    }
    waitMs = wait.value;
  }
  const overrides: Partial<Settings> = {};
  const configPath = values.config ?? values['config.file'];
  if (configPath) overrides.configPath = configPath;
  if (values['web.listen-address'] !== undefined) {
    const address = listenAddress(values['web.listen-address']);
    if (!address) {
      process.stderr.write(`watchdog: --web.listen-address: "${values['web.listen-address']}" is not HOST:PORT, :PORT or [IPv6]:PORT\n`);
      return 2;
    }
    Object.assign(overrides, address);
  }
  let settings: Settings;
  try {
    settings = readSettings(env, overrides);
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`watchdog: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  try {
    if (command === 'validate') return await validate(settings);
    if (command === 'check') return await check(settings, values.probe ?? [], values.format, waitMs, Boolean(process.stdout.isTTY) && !env.NO_COLOR);
    return await run(settings);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.problems.join('\n')}\n`);
      return 2;
    }
    // The stack's name is worked out at start (config/stack.ts): a bad one from a fallback lands here.
    if (err instanceof SettingsError) {
      process.stderr.write(`watchdog: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function validate(settings: Settings): Promise<number> {
  const config = await loadConfig(settings.configPath, settings.env, settings.configLimits);
  const off = config.disabled.length ? ` (switched off with enabled: false: ${config.disabled.join(', ')})` : '';
  process.stdout.write(`ok: ${config.probes.length} probe(s) in ${config.files.join(', ')}${off}\n`);
  return 0;
}

/** "127.0.0.1:9469", ":9469" (every interface) or "[::1]:9469", as Prometheus' --web.listen-address. */
export function listenAddress(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

async function check(settings: Settings, only: string[], format: 'text' | 'json', waitMs: number, colour: boolean): Promise<number> {
  const env = settings.env;
  const config = await loadConfig(settings.configPath, settings.env, settings.configLimits);
  // Logs go to stderr so that `--format json | jq` reads clean JSON; the table already says what failed.
  const logger = createLogger(env.WATCHDOG_LOG_LEVEL ? settings.logLevel : 'error', 2);
  const clients = createClients(settings, {});
  const engine = new Engine({ ...clients, logger, now: Date.now, concurrency: settings.concurrency });
  engine.load(config);
  // One listing: a Docker that cannot be reached leaves none (a one-shot check has no last set), and says so.
  const discovery = new Discovery({ engine, docker: clients.docker, logger, now: Date.now });
  discovery.configure(config);
  await discovery.refresh();
  const known = engine.states().map((s) => s.spec.name);
  const unknown = only.filter((n) => !known.includes(n));
  if (unknown.length) {
    await clients.http.close();
    process.stderr.write(`watchdog: no probe named ${unknown.map((n) => `"${n}"`).join(', ')} in ${config.files.join(', ')}\n`);
    return 2;
  }
  // Progress for a person at a terminal only: piped, stderr carries nothing but real errors.
  const progress = process.stderr.isTTY ? startProgress(engine, process.stderr) : undefined;
  try {
    const first = only.length ? only : known;
    progress?.pass(engine.withDependencies(first));
    let states = await engine.runOnce(first);
    // A deploy pipeline right after `docker compose up`: give what still fails until the deadline.
    const deadline = Date.now() + waitMs;
    while (waitMs > 0 && states.some((s) => s.current.status !== 'ok') && Date.now() < deadline) {
      const again = states.filter((s) => s.current.status !== 'ok').map((s) => s.spec.name);
      progress?.say(`${again.length} not ok yet (${again.join(', ')}): trying again, ${formatSeconds(deadline - Date.now())} left…`);
      await new Promise((r) => setTimeout(r, Math.min(WAIT_RETRY_MS, Math.max(0, deadline - Date.now()))));
      progress?.pass(engine.withDependencies(again));
      await engine.runOnce(again);
      const byName = new Set(states.map((s) => s.spec.name));
      states = engine.states().filter((s) => byName.has(s.spec.name));
    }
    progress?.stop();
    const now = Date.now();
    process.stdout.write(
      format === 'json'
        ? `${JSON.stringify(statusReport(states, now, discovery.current()), null, 2)}\n`
        : statusTable(states, now, { colour, discovery: discovery.current(), width: process.stdout.isTTY ? process.stdout.columns : undefined }),
    );
    return states.every((s) => s.current.status === 'ok') ? 0 : 1;
  } finally {
    progress?.stop();
    await clients.http.close();
  }
}

/** Pause between the re-runs of `check --wait`: often enough for a pipeline, gentle on a starting stack. */
const WAIT_RETRY_MS = 2000;

async function run(settings: Settings): Promise<number> {
  const logger = createLogger(settings.logLevel);
  // SIGHUP's default action ends the process: the handler is in place before the daemon starts (it
  // logs "started" before its config watch is set up), and a SIGHUP during the start reloads after it.
  const started: { daemon?: Awaited<ReturnType<typeof startDaemon>>; hupDuringStart?: boolean } = {};
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading config');
    if (started.daemon) void started.daemon.reload();
    else started.hupDuringStart = true;
  });
  const daemon = await startDaemon(settings, { logger });
  started.daemon = daemon;
  if (started.hupDuringStart) void daemon.reload();
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      // Whatever hangs, the process is gone within 5 s: orchestrators send SIGKILL soon after.
      setTimeout(() => {
        logger.error('shutdown took longer than 5s; exiting anyway');
        resolve(1);
      }, 4800).unref();
      daemon.stop().then(
        () => resolve(0),
        (err) => {
          logger.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });
}

/** Entry point for bin/watchdog.js and `node dist/cli.js`. */
export function runCli(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`watchdog: ${(err as Error).stack ?? err}\n`);
      process.exit(70);
    },
  );
}

// Run when executed as a file, not when imported by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runCli();
