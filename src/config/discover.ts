// The `discover:` block → what src/discovery/ needs to bind one probe per container. Its probe fields
// are decoded by the same steps as a written probe's (probe.ts), under their own names in this block
// (discover.probe.<field>, discover.docker), so a discovered probe can never be refused later.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { parseDuration } from '../core/fields.js';
import type { DockerClient } from '../net/docker.js';
import { proberFor } from '../probers/index.js';
import type { CommonSpec } from '../probers/types.js';
import type { Env } from './interpolate.js';
import { bindOwn, bodyFields, checkShape, decodeCommon, type Defaults, type Report } from './probe.js';
import type { FileShape } from './schema.js';

/** The kind discovery keeps one probe of per container. */
export const DISCOVERED_KIND = 'container_state';

/** The `discover:` block, decoded: what src/discovery/ needs to bind one probe per container. */
export interface DiscoverConfig {
  file: string;
  intervalMs: number;
  /** "key=value" filters, all required. */
  labels: string[];
  ignoreLabel: { key: string; value: string };
  /** Services or container names left out. */
  ignore: string[];
  /** The discovered probes' common fields (each gets its own name), checked at load like a written probe's. */
  common: Omit<CommonSpec, 'name'>;
  /** container_state's own fields for every discovered probe, without `container` and `requireLimit`; checked at load. */
  fields: Record<string, unknown>;
  /**
   * discover.probe.requireLimit: every container found must have a memory limit. A rule about the
   * containers, not a field copied onto each probe: src/discovery/ gives the limit verdict to the
   * discovered probe only where no written probe owns it (see limitOwners there).
   */
  requireLimit: boolean;
  /** The block's own Engine (to list containers on), when it is not DOCKER_HOST's; its probes inspect there too. */
  docker?: DockerClient;
  /** The short name of that Engine's host, put into the probe names. */
  host?: string;
}

type Block = NonNullable<Static<typeof FileShape>['discover']>;

/** Fields discovery sets itself, or takes from elsewhere in the block, with why they are refused in discover.probe. */
const supplied: Readonly<Record<string, string>> = {
  name: 'set by discovery for each container; leave it out',
  kind: 'set by discovery for each container; leave it out',
  container: 'set by discovery for each container; leave it out',
  docker: 'give the Engine as discover.docker, which the listing uses too',
};

/**
 * A valid container name, so the kind's bind() checks the block's other fields now: the container is
 * the one field that differs between discovered probes, and the kind's decode only passes it through.
 */
const ANY_CONTAINER = 'discovered';

let blockCheck: ReturnType<typeof compileBlockCheck> | undefined;
function compileBlockCheck() {
  const { container: _container, ...own } = proberFor(DISCOVERED_KIND)!.fields.properties;
  return TypeCompiler.Compile(Type.Object({ ...bodyFields, ...own }, { additionalProperties: false }));
}

export function decodeDiscover(file: string, block: Block, fileDefaults: Defaults, env: Env, problems: string[]): DiscoverConfig | undefined {
  const prober = proberFor(DISCOVERED_KIND)!;
  let refused = false;
  // discover.docker is handed to the kind as its docker field: its problems are discover.docker's.
  const at: Report = (field, message) => {
    refused = true;
    const where = field === 'docker' || field.startsWith('docker.') ? `discover.${field}` : `discover.probe.${field}`;
    problems.push(`${file}: ${where}: ${message}`);
  };
  const written: Record<string, unknown> = block.probe ?? {};
  for (const key of Object.keys(supplied)) {
    if (!Object.hasOwn(written, key)) continue;
    refused = true;
    problems.push(`${file}: discover.probe.${key}: ${supplied[key]}`);
  }
  const obj: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(written).filter(([key]) => !Object.hasOwn(supplied, key))),
    ...(block.docker ? { docker: block.docker } : {}),
  };
  blockCheck ??= compileBlockCheck();
  const common = checkShape(blockCheck, obj, at) ? decodeCommon(prober, obj, { name: ANY_CONTAINER, kind: DISCOVERED_KIND, file }, fileDefaults, at) : undefined;
  const spec = common && bindOwn(prober, { ...obj, container: ANY_CONTAINER }, common, at);

  const intervalMs = block.interval === undefined ? parsed30s : parseDuration(block.interval);
  if (!intervalMs.ok) problems.push(`${file}: discover.interval: ${intervalMs.problem}`);
  else if (intervalMs.value < 1000) problems.push(`${file}: discover.interval: ${block.interval} is shorter than the 1s minimum`);
  if (!common || !spec || refused || !intervalMs.ok) return undefined;

  const { name: _name, ...shared } = common;
  const fields = Object.fromEntries(Object.entries(obj).filter(([key]) => key !== 'requireLimit' && Object.hasOwn(prober.fields.properties, key)));
  // The client the check above made for discover.docker: the listing uses it too, so the Engine's TLS
  // files are read once.
  const docker = block.docker === undefined ? undefined : (spec.settings as { docker?: DockerClient }).docker;
  const labels = block.labels ?? { 'com.docker.compose.project': env.COMPOSE_PROJECT || 'mystocks' };
  const [key = '', value = ''] = (block.ignoreLabel ?? 'stack-watchdog.ignore=true').split(/=(.*)/s);
  return {
    file,
    intervalMs: intervalMs.value,
    labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`),
    ignoreLabel: { key, value },
    ignore: block.ignore ?? [],
    common: shared,
    fields,
    requireLimit: obj.requireLimit === true,
    ...(docker ? { docker } : {}),
    ...(block.host ? { host: block.host } : {}),
  };
}

const parsed30s = parseDuration('30s');
