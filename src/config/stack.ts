// The stack's name (issue 21 §2): the `stack` label on every series and direct alert, so that one
// Prometheus and one Alertmanager keep several watchdogs' stacks apart. Decided once at start, from
// the first of: WATCHDOG_STACK; the compose project of the watchdog's own container (its
// com.docker.compose.project label, when it runs in a container Docker knows); COMPOSE_PROJECT_NAME;
// the project the config's discover block lists containers of; else "default".
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { WatchdogConfig } from './load.js';
import { checkStackName } from './settings.js';
import type { DockerClient } from '../net/docker.js';

const PROJECT_LABEL = 'com.docker.compose.project';

export type StackSource = 'WATCHDOG_STACK' | 'container label' | 'COMPOSE_PROJECT_NAME' | 'discover labels' | 'default';

export interface Stack {
  name: string;
  /** Where the name came from, logged at start. */
  source: StackSource;
}

export const DEFAULT_STACK = 'default';

/**
 * The watchdog's own container as Docker names it, or undefined outside a container. Docker gives a
 * container the first 12 hex digits of its id as host name unless `hostname:` says otherwise; any
 * other host name (a VM, a laptop, a container with its own host name) is not asked about, so a
 * watchdog outside compose never waits on Docker for its name.
 */
export function ownContainerId(): string | undefined {
  const name = hostname();
  return existsSync('/.dockerenv') && /^[0-9a-f]{12}$/.test(name) ? name : undefined;
}

export interface StackInputs {
  /** WATCHDOG_STACK, already checked by readSettings. */
  stack?: string;
  composeProjectName?: string;
  /** The watchdog's own container (ownContainerId()); undefined: not in a container. */
  ownContainer?: string;
  docker: DockerClient;
  config: WatchdogConfig;
}

/** How long start waits on Docker for the own container's labels before going on without them. */
const INSPECT_TIMEOUT_MS = 2000;

export async function resolveStack(inputs: StackInputs): Promise<Stack> {
  if (inputs.stack) return { name: inputs.stack, source: 'WATCHDOG_STACK' };
  if (inputs.ownContainer) {
    const project = await inputs.docker.inspect(inputs.ownContainer, AbortSignal.timeout(INSPECT_TIMEOUT_MS)).then(
      (c) => c.Config.Labels?.[PROJECT_LABEL],
      // Docker not reachable from here, or no such container: the next source decides.
      () => undefined,
    );
    if (project) return { name: checkStackName(project, `the ${PROJECT_LABEL} label of this container (${inputs.ownContainer})`), source: 'container label' };
  }
  if (inputs.composeProjectName) return { name: checkStackName(inputs.composeProjectName, 'COMPOSE_PROJECT_NAME'), source: 'COMPOSE_PROJECT_NAME' };
  const discovered = inputs.config.discover?.labels.find((l) => l.startsWith(`${PROJECT_LABEL}=`))?.slice(PROJECT_LABEL.length + 1);
  if (discovered) return { name: checkStackName(discovered, `discover.labels: ${PROJECT_LABEL} in ${inputs.config.discover!.file}`), source: 'discover labels' };
  return { name: DEFAULT_STACK, source: 'default' };
}
