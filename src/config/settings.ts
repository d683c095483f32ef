// The one place that reads process.env. Everything else receives a Settings value.
import { createRequire } from 'node:module';
import { parseDuration } from '../core/fields.js';
import type { Env } from './interpolate.js';
import { defaultConfigLimits, type ConfigLimits } from './limits.js';

export interface Settings {
  configPath: string;
  host: string;
  port: number;
  adminToken?: string;
  logLevel: string;
  dockerHost?: string;
  concurrency: number;
  /**
   * WATCHDOG_PROBE_THREAD: `main` runs the scheduler and the probes on the thread that serves the API and
   * /metrics; `worker` on a thread of their own (engine/thread.ts), for hundreds of probes a second.
   */
  probeThread: 'main' | 'worker';
  /** How people reach this watchdog (e.g. http://watchdog.example:9469): direct alerts link to /status/<probe> there. */
  externalUrl?: string;
  /** Caps on what a config load reads and parses (WATCHDOG_CONFIG_MAX_BYTES, WATCHDOG_CONFIG_MAX_NODES). */
  configLimits: ConfigLimits;
  /** How often the config's content hash is compared with the loaded one (changes no file event reports). */
  configPollMs: number;
  /** How long the API waits for a whole request (headers and body) before it closes the connection. */
  apiRequestTimeoutMs: number;
  /** Where maintenance windows opened over the API and incidents are kept across restarts (WATCHDOG_STATE_DIR); none: they end with the process. */
  stateDir?: string;
  /** WATCHDOG_STACK, checked; unset: the daemon works the name out at start (config/stack.ts). */
  stack?: string;
  /** COMPOSE_PROJECT_NAME, one of the fallbacks for the stack's name (checked when it is used). */
  composeProjectName?: string;
  /** The environment handed to ${VAR} expansion in probe files. */
  env: Env;
  version: string;
}

export class SettingsError extends Error {}

/**
 * Letters, digits, "-" and "_" (what compose allows in a project name, plus capitals), starting with
 * a letter or digit. No regex metacharacter, so the dashboard's `stack=~"$stack"` matches exactly that
 * stack; nothing to escape in a label, a silence matcher or a URL.
 */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** The name, or a SettingsError naming where it came from. */
export function checkStackName(value: string, from: string): string {
  if (STACK_NAME.test(value)) return value;
  throw new SettingsError(
    `${from}: "${value}" is not a stack name: letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters${from === 'WATCHDOG_STACK' ? '' : ' (set WATCHDOG_STACK to name the stack)'}`,
  );
}

const require = createRequire(import.meta.url);
export const version: string = (require('../../package.json') as { version: string }).version;

export function readSettings(env: Env = process.env, overrides: Partial<Settings> = {}): Settings {
  const port = Number(env.WATCHDOG_PORT ?? 9469);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SettingsError(`WATCHDOG_PORT: "${env.WATCHDOG_PORT}" is not a port number`);
  const logLevel = env.WATCHDOG_LOG_LEVEL ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    throw new SettingsError(`WATCHDOG_LOG_LEVEL: "${logLevel}" is not one of fatal, error, warn, info, debug, trace, silent`);
  const probeThread = env.WATCHDOG_PROBE_THREAD || 'main';
  if (probeThread !== 'main' && probeThread !== 'worker') throw new SettingsError(`WATCHDOG_PROBE_THREAD: "${probeThread}" is not one of main, worker`);
  const apiTimeout = parseDuration(env.WATCHDOG_API_REQUEST_TIMEOUT || '10s');
  if (!apiTimeout.ok) throw new SettingsError(`WATCHDOG_API_REQUEST_TIMEOUT: ${apiTimeout.problem}`);
  const poll = parseDuration(env.WATCHDOG_CONFIG_POLL || '5s');
  if (!poll.ok) throw new SettingsError(`WATCHDOG_CONFIG_POLL: ${poll.problem}`);
  const configLimits = {
    maxBytes: positive(env, 'WATCHDOG_CONFIG_MAX_BYTES', defaultConfigLimits.maxBytes),
    maxNodes: positive(env, 'WATCHDOG_CONFIG_MAX_NODES', defaultConfigLimits.maxNodes),
  };
  return {
    configPath: env.WATCHDOG_CONFIG || 'probes',
    host: env.WATCHDOG_HOST || '0.0.0.0',
    port,
    adminToken: env.WATCHDOG_ADMIN_TOKEN || undefined,
    logLevel,
    dockerHost: env.DOCKER_HOST || undefined,
    concurrency: positive(env, 'WATCHDOG_CONCURRENCY', 8),
    probeThread,
    externalUrl: env.WATCHDOG_EXTERNAL_URL || undefined,
    configLimits,
    apiRequestTimeoutMs: apiTimeout.value,
    configPollMs: poll.value,
    stateDir: env.WATCHDOG_STATE_DIR || undefined,
    stack: env.WATCHDOG_STACK ? checkStackName(env.WATCHDOG_STACK, 'WATCHDOG_STACK') : undefined,
    composeProjectName: env.COMPOSE_PROJECT_NAME || undefined,
    env,
    version,
    ...overrides,
  };
}

/** A whole number >= 1 from the environment; unset or empty means the default, as for every setting. */
function positive(env: Env, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new SettingsError(`${name}: "${text}" is not a positive whole number`);
  return n;
}
