// Read-only Docker Engine access (inspect, stats, the last log lines). The watchdog never execs into a container:
// inspect answers what the guide's `docker exec ... env` asked, without a shell.
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
// dockerode's Container and dockerode's own docker-modem, without dockerode's index (lib/docker.js): that file
// requires lib/session.js at load, which loads @grpc/grpc-js, @grpc/proto-loader and protobufjs for BuildKit
// sessions (image builds), plus tar-fs and the classes of every other resource; the watchdog reads containers
// and lists them, nothing else (issue 21 §3's idle budget: 2.5 MiB of live heap, 130 modules). dockerode has
// no "exports" map, so the path is reachable, but it is not its documented API: a dockerode update that moves
// it fails this import at start, in every test. docker-modem is resolved from dockerode's folder, so it is the
// very copy dockerode would use.
import Container from 'dockerode/lib/container.js';

/** docker-modem, typed through @types/dockerode (docker-modem is dockerode's dependency, not ours). */
type DockerModem = Docker['modem'];
const Modem = createRequire(createRequire(import.meta.url).resolve('dockerode'))('docker-modem') as new (options: Docker.DockerOptions) => DockerModem;

/** What dockerode's `new Docker(opts)` sets up (lib/docker.js): a modem that answers with native promises. */
type Engine = DockerModem & { Promise: PromiseConstructor };

/** dockerode's `docker.getContainer(id)`: a Container on the same modem. */
function getContainer(modem: Engine, id: string): Docker.Container {
  return new Container(modem, id);
}

/** dockerode's `docker.listContainers(opts)` (lib/docker.js), the same request: it lives in the index, not in a class file of its own. */
function listContainers(modem: Engine, opts: Docker.ContainerListOptions & { abortSignal?: AbortSignal }): Promise<unknown> {
  return new Promise((resolve, reject) => {
    modem.dial(
      {
        path: '/containers/json?',
        method: 'GET',
        options: opts,
        abortSignal: opts.abortSignal,
        statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' },
      },
      (err, data) => (err ? reject(err) : resolve(data)),
    );
  });
}

/**
 * Docker itself cannot be asked: no socket, permission denied, daemon stopped, or something other
 * than the Engine (a socket proxy that forbids the call, another service) answered. `code` is the
 * errno (ENOENT, EACCES, ECONNREFUSED, ...) when the connection failed, `not_docker` when the answer
 * was not the Engine's, `unsupported_host` when DOCKER_HOST cannot be used; `statusCode` is the HTTP
 * status when something answered with an error.
 */
export class DockerUnavailableError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'DockerUnavailableError';
  }
}

/** The container does not exist. */
export class ContainerNotFoundError extends Error {
  constructor(readonly container: string) {
    super(`container "${container}" does not exist`);
    this.name = 'ContainerNotFoundError';
  }
}

export interface ContainerInspect {
  Name: string;
  RestartCount?: number;
  State: {
    Status: string;
    Running: boolean;
    Paused?: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    Dead?: boolean;
    ExitCode: number;
    Error?: string;
    StartedAt?: string;
    FinishedAt?: string;
    /** Present when the image or the run defines a HEALTHCHECK. */
    Health?: { Status: string; FailingStreak?: number; Log?: { Start?: string; End?: string; ExitCode?: number; Output?: string }[] | null };
  };
  HostConfig: {
    Memory?: number;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
    /** `--tmpfs` (and compose's `tmpfs:`) mounts by destination: these are not listed in Mounts. */
    Tmpfs?: Record<string, string> | null;
  };
  Config: { Env?: string[] | null; Image?: string; Labels?: Record<string, string> | null; Tty?: boolean };
  /** Volumes, bind mounts and tmpfs, with where each appears inside the container. */
  Mounts?: { Type?: string; Name?: string; Source?: string; Destination: string; RW?: boolean }[] | null;
}

export interface ContainerStats {
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
}

/** One entry of `docker ps -a` (GET /containers/json?all=1). */
export interface ContainerSummary {
  Id: string;
  /** With Docker's leading "/". */
  Names: string[];
  Labels?: Record<string, string> | null;
  State?: string;
}

export interface DockerClient {
  /** Where the engine is reached, for messages. */
  readonly endpoint: string;
  /** Every container, running or not, carrying all of `labels` ("key=value" or "key"): `docker ps -a --filter label=...`. */
  list(labels: string[], signal: AbortSignal): Promise<ContainerSummary[]>;
  inspect(container: string, signal: AbortSignal): Promise<ContainerInspect>;
  stats(container: string, signal: AbortSignal): Promise<ContainerStats>;
  /**
   * The container's last `tail` log lines, stdout and stderr in the order written (`docker logs --tail`,
   * GET /containers/{id}/logs, read-only), at most LOG_BYTES of their end.
   */
  logs(container: string, tail: number, signal: AbortSignal): Promise<string>;
}

/** The most of a container's log the watchdog holds: a few lines are wanted, a line may be huge. */
export const LOG_BYTES = 16 * 1024;

/** PEM texts for a tcp:// Engine behind TLS (dockerd --tlsverify): the CA, and this client's certificate and key. */
export interface DockerTls {
  ca: string;
  cert: string;
  key: string;
}

export function createDockerClient(opts: { dockerHost?: string; tls?: DockerTls }): DockerClient {
  const target = modemFromHost(opts.dockerHost, opts.tls);
  const { endpoint } = target;
  // dockerode is created on first use so that a daemon without Docker probes never touches the socket.
  let docker: Engine | undefined;
  const client = () => {
    // A DOCKER_HOST we cannot use fails every call the same way, not the daemon's start:
    // only the container probes depend on it, and they say why.
    if ('unsupported' in target) throw new DockerUnavailableError(target.unsupported, 'unsupported_host');
    // docker-modem takes an `agent`; @types/dockerode does not list it.
    return (docker ??= Object.assign(new Modem({ ...target.modemOptions, agent: freshConnections(target.modemOptions) } as Docker.DockerOptions), { Promise }));
  };
  return {
    endpoint,
    async inspect(container, signal) {
      try {
        const answer: unknown = await getContainer(client(), container).inspect({ abortSignal: signal });
        return expectShape<ContainerInspect>(answer, (a) => isObject(a.State) && isObject(a.HostConfig) && isObject(a.Config), endpoint);
      } catch (err) {
        throw classify(err, container, endpoint, signal);
      }
    },
    async list(labels, signal) {
      try {
        const answer: unknown = await listContainers(client(), { all: true, filters: JSON.stringify({ label: labels }), abortSignal: signal });
        if (!Array.isArray(answer) || !answer.every((c) => isObject(c) && typeof c.Id === 'string' && Array.isArray(c.Names))) {
          throw new DockerUnavailableError(`something answered at ${endpoint}, but not as the Docker Engine API does`, 'not_docker');
        }
        return answer as ContainerSummary[];
      } catch (err) {
        throw classify(err, '(list)', endpoint, signal);
      }
    },
    async stats(container, signal) {
      try {
        // one-shot: the default call waits for a second sample (about 2 s) to compute CPU deltas.
        // docker-modem takes abortSignal; @types/dockerode does not list it, so it rides in a variable.
        const options = { stream: false as const, 'one-shot': true, abortSignal: signal };
        const answer: unknown = await getContainer(client(), container).stats(options);
        return expectShape<ContainerStats>(answer, (a) => isObject(a.memory_stats), endpoint);
      } catch (err) {
        throw classify(err, container, endpoint, signal);
      }
    },
    async logs(container, tail, signal) {
      try {
        // follow: false answers one body and ends; docker-modem takes abortSignal (not in @types/dockerode).
        const options = { stdout: true, stderr: true, follow: false as const, tail, abortSignal: signal };
        const answer: unknown = await getContainer(client(), container).logs(options);
        if (!Buffer.isBuffer(answer)) throw new DockerUnavailableError(`something answered at ${endpoint}, but not as the Docker Engine API does`, 'not_docker');
        const text = demultiplex(answer).toString('utf8');
        return text.length > LOG_BYTES ? text.slice(-LOG_BYTES) : text;
      } catch (err) {
        throw classify(err, container, endpoint, signal);
      }
    },
  };
}

/**
 * The log body without Docker's stream framing. A container without a TTY answers in frames of an
 * 8-byte header (stream 0/1/2, three zero bytes, the payload's length as uint32 big-endian) and the
 * payload; one with a TTY answers the raw bytes. Written here rather than with docker-modem's
 * demuxStream, which works on a live stream into two writers and loses the order of stdout and stderr.
 * A body that does not parse as frames from its first byte on is taken as raw.
 */
export function demultiplex(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= body.length) {
    const stream = body[at]!;
    if (stream > 2 || body[at + 1] !== 0 || body[at + 2] !== 0 || body[at + 3] !== 0) return at === 0 ? body : Buffer.concat(parts);
    const size = body.readUInt32BE(at + 4);
    parts.push(body.subarray(at + 8, Math.min(body.length, at + 8 + size)));
    at += 8 + size;
  }
  return at === 0 && body.length > 0 ? body : Buffer.concat(parts);
}

/**
 * A new connection per call. Node's default agent keeps connections alive, and a probe's first call
 * after dockerd stopped would then fail on the pooled socket ("closed without an answer") instead of
 * saying what is wrong now (no socket, refused). Probes call a few times a minute: reuse saves nothing.
 */
function freshConnections(options: Docker.DockerOptions): HttpAgent {
  return options.protocol === 'https' ? new HttpsAgent({ keepAlive: false }) : new HttpAgent({ keepAlive: false });
}

type Target = { modemOptions: Docker.DockerOptions; endpoint: string } | { unsupported: string; endpoint: string };

function modemFromHost(dockerHost: string | undefined, tls?: DockerTls): Target {
  if (!dockerHost) return { modemOptions: { socketPath: '/var/run/docker.sock' }, endpoint: 'unix:///var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) {
    const socketPath = dockerHost.slice('unix://'.length);
    return { modemOptions: { socketPath }, endpoint: dockerHost };
  }
  if (/^(tcp|http|https):\/\//.test(dockerHost)) {
    let u: URL;
    try {
      u = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    } catch {
      return { unsupported: `DOCKER_HOST "${dockerHost}" is not a valid address`, endpoint: dockerHost };
    }
    return {
      modemOptions: tls
        ? { host: u.hostname, port: Number(u.port || 2376), protocol: 'https', ca: tls.ca, cert: tls.cert, key: tls.key }
        : { host: u.hostname, port: Number(u.port || 2375), protocol: u.protocol === 'https:' ? 'https' : 'http' },
      endpoint: dockerHost,
    };
  }
  // ssh:// would need the SSH transport's native parts, npipe:// is Windows: say so instead of
  // silently dialling port 2375 on the wrong host.
  return { unsupported: `DOCKER_HOST "${dockerHost}" is not supported: use unix:///path/to/docker.sock or tcp://host:port`, endpoint: dockerHost };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);
}

/** docker-modem hands back a Buffer when the body is not JSON: then it was not the Engine that answered. */
function expectShape<T>(answer: unknown, ok: (a: Record<string, unknown>) => boolean, endpoint: string): T {
  if (isObject(answer) && ok(answer)) return answer as T;
  throw new DockerUnavailableError(`something answered at ${endpoint}, but not as the Docker Engine API does`, 'not_docker');
}

// Connection errors that mean "the Engine cannot be reached", with the words an operator needs.
const unreachable: Record<string, (endpoint: string) => string> = {
  ENOENT: (e) => `no Docker socket at ${e}`,
  ENOTDIR: (e) => `no Docker socket at ${e}`,
  EACCES: (e) => `permission denied on the Docker socket ${e}`,
  EPERM: (e) => `permission denied on the Docker socket ${e}`,
  // A unix socket path with nobody listening (dockerd stopped, a stale socket file) gives ECONNREFUSED too.
  ECONNREFUSED: (e) => `nothing accepts connections at ${e} (is dockerd running?)`,
  ECONNRESET: (e) => `the connection to ${e} was closed without an answer`,
  EPIPE: (e) => `the connection to ${e} was closed without an answer`,
  ENOTFOUND: (e) => `the host of ${e} does not resolve`,
  EAI_AGAIN: (e) => `the host of ${e} does not resolve`,
  ETIMEDOUT: (e) => `connecting to ${e} timed out`,
  EHOSTUNREACH: (e) => `${e} is unreachable`,
  ENETUNREACH: (e) => `${e} is unreachable`,
};

function classify(err: unknown, container: string, endpoint: string, signal: AbortSignal): Error {
  if (err instanceof DockerUnavailableError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string; json?: unknown };
  if (e.statusCode === 404) return new ContainerNotFoundError(container);
  if (signal.aborted) {
    const timeout = new Error(`Docker Engine at ${endpoint} did not answer in time`);
    timeout.name = 'AbortError';
    return timeout;
  }
  const describe = e.code ? unreachable[e.code] : undefined;
  if (describe) return new DockerUnavailableError(describe(endpoint), e.code);
  if (typeof e.statusCode === 'number') {
    // Any other status: the Engine's own 500, or a socket proxy's 403 for an endpoint it does not allow.
    const said = (isObject(e.json) && typeof e.json.message === 'string' ? e.json.message : Buffer.isBuffer(e.json) ? e.json.toString('utf8') : '').replace(/\s+/g, ' ').trim().slice(0, 160);
    return new DockerUnavailableError(`${endpoint} answered HTTP ${e.statusCode}${said ? `: ${said}` : ''}`, undefined, e.statusCode);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A client for a configured endpoint: a `unix://` or `tcp://` address, or a TLS one whose PEM files
 * are read now, at load (a missing file is a config problem, not a failure at every run).
 */
export function clientForEndpoint(value: string | { host: string; ca: string; cert: string; key: string }): { client: DockerClient; problems: { key: 'ca' | 'cert' | 'key'; message: string }[] } {
  if (typeof value === 'string') return { client: createDockerClient({ dockerHost: value }), problems: [] };
  const problems: { key: 'ca' | 'cert' | 'key'; message: string }[] = [];
  const read = (key: 'ca' | 'cert' | 'key') => {
    try {
      return readFileSync(value[key], 'utf8');
    } catch (err) {
      problems.push({ key, message: `cannot read ${value[key]}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      return '';
    }
  };
  return { client: createDockerClient({ dockerHost: value.host, tls: { ca: read('ca'), cert: read('cert'), key: read('key') } }), problems };
}
