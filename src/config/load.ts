// Loading a config: read the files (read.ts: which files, the size cap, the hash), then build it
// (build.ts: parse, decode, check). The config's public names are re-exported here, so a caller
// imports one module.
import { parseConfig, type WatchdogConfig } from './build.js';
import { ConfigError } from './error.js';
import type { Env } from './interpolate.js';
import { defaultConfigLimits, type ConfigLimits } from './limits.js';
import { readSources } from './read.js';

export type { AlertingConfig } from './alerting.js';
export type { MaintenanceConfig } from './maintenance.js';
export { parseConfig, type WatchdogConfig } from './build.js';
export { DISCOVERED_KIND, type DiscoverConfig } from './discover.js';
export { ConfigError } from './error.js';
export { configFiles, currentConfigHash } from './read.js';

export async function loadConfig(path: string, env: Env, limits: ConfigLimits = defaultConfigLimits): Promise<WatchdogConfig> {
  const { sources, hash } = await readSources(path, limits);
  try {
    return { ...parseConfig(sources, env, limits), hash };
  } catch (err) {
    if (err instanceof ConfigError) err.hash = hash;
    throw err;
  }
}
