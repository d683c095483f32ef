// kind: tempo_storage — the folders Tempo writes its traces and write-ahead logs to lie on a mount of its
// container, so that recreating the container (any `docker compose up -d` after a change) keeps them.
// The paths come from Tempo itself (GET /status/config: the config in effect, defaults filled in, as
// YAML after a "GET /status/config" line), the mounts from `docker inspect` (Mounts[].Destination). A
// path outside every mount, or on a tmpfs, lives in the container's writable layer or in memory.
import { Type } from '@sinclair/typebox';
import { parse } from 'yaml';
import { HttpUrl } from '../core/fields.js';
import type { ContainerInspect } from '../net/docker.js';
import { capped, count, snippet } from '../util/text.js';
import { joinUrl } from '../util/url.js';
import { failed, passed } from './common.js';
import { defineProber } from './define.js';
import { ContainerName, decodeDockerEndpoint, DockerEndpoint, dockerReasons, inspectOnEngine } from './docker.js';
import { notTempoHint, tempoReasons, tempoRequest } from './tempoApi.js';

/**
 * Where Tempo 2.x and 3.x write, by config key (cmd/tempo/app/config.go and the modules' Config
 * structs): the local trace backend (only when storage.trace.backend is local), the WAL of recent
 * blocks (2.x: storage.trace.wal; 3.x adds live_store.wal), and the metrics-generator's remote-write
 * WAL and (2.x) its local trace blocks. A key a version does not have is simply absent from its answer.
 */
const WRITTEN: readonly { key: string; path: readonly string[]; when?: (config: unknown) => boolean }[] = [
  { key: 'storage.trace.local.path', path: ['storage', 'trace', 'local', 'path'], when: (c) => at(c, ['storage', 'trace', 'backend']) === 'local' },
  { key: 'storage.trace.wal.path', path: ['storage', 'trace', 'wal', 'path'] },
  { key: 'live_store.wal.path', path: ['live_store', 'wal', 'path'] },
  { key: 'metrics_generator.storage.path', path: ['metrics_generator', 'storage', 'path'] },
  { key: 'metrics_generator.traces_storage.path', path: ['metrics_generator', 'traces_storage', 'path'] },
];

export const tempoStorageProber = defineProber({
  fields: Type.Object({
    /** Tempo's HTTP API, e.g. http://tempo:3200. */
    tempo: HttpUrl,
    /** Tempo's container, whose mounts are read. */
    container: ContainerName,
    /** This probe's Docker Engine, when it is not DOCKER_HOST's. */
    docker: Type.Optional(DockerEndpoint),
  }),
  reasons: {
    ...tempoReasons,
    ...dockerReasons,
    not_persistent:
      'Tempo writes outside every volume of its container, so recreating it loses its traces: mount a volume where it writes (compose volumes: under the tempo service) or move the paths (storage.trace.local.path, storage.trace.wal.path, ...) under the folder that is mounted, then docker compose up -d tempo.',
  },
  decode: (f, d) => ({ tempo: f.tempo, container: f.container, docker: decodeDockerEndpoint(d, 'docker', f.docker) }),
  async run(spec, runCtx) {
    const url = joinUrl(spec.tempo, '/status/config');
    const answer = await tempoRequest(runCtx, url);
    if (!answer.ok) return answer.outcome;
    const { status, body } = answer.value;
    if (status !== 200) return failed('http_status', `GET ${url} answered HTTP ${status}: ${snippet(body.trim(), 200)}`, undefined, { value: null });
    const config = readStatusConfig(body);
    const paths = config === undefined ? [] : writtenPaths(config);
    if (paths.length === 0) {
      return failed('invalid_response', `GET ${url} did not answer with a Tempo config naming a storage path: ${snippet(body.trim(), 120)}`, notTempoHint, { value: null });
    }

    const inspected = await inspectOnEngine(runCtx, spec.docker, spec.container);
    if (!inspected.ok) return inspected.outcome;
    const mounts = mountsOf(inspected.value.info);
    const placed = paths.map((p) => ({ ...p, mount: mountOf(p.path, mounts) }));
    const outside = placed.filter((p) => p.mount === undefined || p.mount.type === 'tmpfs');
    const mountList = mounts.length
      ? capped(
          mounts.map((m) => `${m.destination}${m.type === 'tmpfs' ? ' (tmpfs)' : ''}`),
          ', ',
        )
      : 'none';
    const details = {
      container: spec.container,
      paths: Object.fromEntries(placed.map((p) => [p.key, p.path])),
      mounts: mounts.map((m) => m.destination),
      ...(outside.length ? { notPersistent: outside.map((p) => p.path) } : {}),
    };
    const named = (list: typeof placed) => list.map((p) => `${p.key} ${p.path}`).join(', ');

    if (outside.length) {
      const layer = outside.some((p) => p.mount === undefined) ? "in the container's writable layer" : 'in memory (tmpfs)';
      const roots = [...new Set(outside.map((p) => topFolder(p.path)))];
      return failed(
        'not_persistent',
        `Tempo writes ${named(outside)} outside every volume of "${spec.container}" (its mounts: ${mountList}): ${layer}, lost whenever the container is recreated`,
        `Mount a volume there (in compose, under the tempo service: volumes: [${roots.map((r) => `"tempo-data:${r}"`).join(', ')}]), or move ${outside.map((p) => p.key).join(', ')} under a folder that is mounted${mounts.length ? ` (${mountList})` : ''} in tempo-config.yaml; then docker compose up -d tempo.`,
        { value: outside.length, details },
      );
    }
    return passed(`Tempo's ${count(placed.length, 'storage path')} lie on volumes of "${spec.container}": ${placed.map((p) => `${p.path} on ${p.mount!.destination}`).join(', ')}`, {
      value: 0,
      details,
    });
  },
});

/** The config of a /status/config answer: YAML after Tempo's "GET /status/config" line; undefined when it is not YAML. */
export function readStatusConfig(body: string): unknown {
  const text = body.replace(/^GET \/status\/config\r?\n/, '');
  try {
    return parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The folders Tempo writes to, by config key, as its config names them. */
export function writtenPaths(config: unknown): { key: string; path: string }[] {
  return WRITTEN.flatMap((w) => {
    const value = at(config, w.path);
    return typeof value === 'string' && value.startsWith('/') && (w.when?.(config) ?? true) ? [{ key: w.key, path: value.replace(/\/+$/, '') || '/' }] : [];
  });
}

interface Mount {
  destination: string;
  type: string;
}

/**
 * Volumes, binds and tmpfs mounts; `--tmpfs` ones are listed in HostConfig.Tmpfs, not in Mounts.
 * Sorted by destination: Docker lists Mounts from a map, in an order that changes between inspects,
 * and a message that reorders itself from run to run reads as a change in every view and log.
 */
function mountsOf(info: ContainerInspect): Mount[] {
  const listed = (info.Mounts ?? []).filter((m) => typeof m.Destination === 'string').map((m) => ({ destination: m.Destination, type: m.Type ?? '' }));
  const tmpfs = Object.keys(info.HostConfig.Tmpfs ?? {}).map((destination) => ({ destination, type: 'tmpfs' }));
  return [...listed, ...tmpfs]
    .map((m) => ({ ...m, destination: m.destination.replace(/\/+$/, '') || '/' }))
    .sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0));
}

/** The mount a path lies on: the deepest one whose destination is the path or one of its folders. */
export function mountOf(path: string, mounts: readonly Mount[]): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const on = m.destination === '/' || path === m.destination || path.startsWith(`${m.destination}/`);
    if (on && (!best || m.destination.length > best.destination.length)) best = m;
  }
  return best;
}

/** /tmp/tempo/traces → /tmp/tempo: the folder a volume for Tempo's data would be mounted at. */
function topFolder(path: string): string {
  return `/${path.split('/').filter(Boolean).slice(0, 2).join('/')}`;
}

function at(x: unknown, path: readonly string[]): unknown {
  let cur = x;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}
