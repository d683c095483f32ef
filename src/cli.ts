#!/usr/bin/env node
// watchdog run | check | validate. Exit codes: 0 all good, 1 a probe failed (check), 2 bad config or usage.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load.js';
import { readSettings, SettingsError, type Settings } from './config/settings.js';
import { createClients, startDaemon } from './daemon.js';
import { Engine } from './engine/engine.js';
import { Discovery } from './engine/discovery.js';
import { createLogger } from './log.js';
import { statusReport, statusTable } from './report/view.js';

const usage = `usage: watchdog [run|check|validate] [options]

  run        the daemon (default): probes on schedule, /metrics, /status
  check      run the probes once, in dependency order; exit 0 if all pass, 1 if any fails
  validate   check the config; exit 0 if valid, 2 with one line per problem

options:
  -c, --config PATH     probe file or folder of *.yaml (default: $WATCHDOG_CONFIG or ./probes)
  -p, --probe NAME      check: only this probe (and what it depends on); repeatable
  -f, --format FORMAT   check: text (default) or json
  -h, --help
`;

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
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
  let settings: Settings;
  try {
    settings = readSettings(env, values.config ? { configPath: values.config } : {});
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`watchdog: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  try {
    if (command === 'validate') return await validate(settings);
    if (command === 'check') return await check(settings, values.probe ?? [], values.format);
    return await run(settings);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.problems.join('\n')}\n`);
      return 2;
    }
    throw err;
  }
}

async function validate(settings: Settings): Promise<number> {
  const config = await loadConfig(settings.configPath, settings.env, settings.configLimits);
  process.stdout.write(`ok: ${config.probes.length} probe(s) in ${config.files.join(', ')}\n`);
  return 0;
}

async function check(settings: Settings, only: string[], format: 'text' | 'json'): Promise<number> {
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
  try {
    const states = await engine.runOnce(only.length ? only : undefined);
    const now = Date.now();
    process.stdout.write(format === 'json' ? `${JSON.stringify(statusReport(states, now, engine.discovery), null, 2)}\n` : statusTable(states, now, engine.discovery));
    return states.every((s) => s.current.status === 'ok') ? 0 : 1;
  } finally {
    await clients.http.close();
  }
}

async function run(settings: Settings): Promise<number> {
  const logger = createLogger(settings.logLevel);
  const daemon = await startDaemon(settings, { logger });
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
    process.on('SIGHUP', () => {
      logger.info('SIGHUP: reloading config');
      void daemon.reload();
    });
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
