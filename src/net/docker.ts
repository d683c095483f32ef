// Read-only Docker Engine access (inspect, stats, the last log lines). The watchdog never execs into a container:
// inspect answers what the guide's `docker exec ... env` asked, without a shell.
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

// The Engine API is read with node:http, not dockerode: four GETs (list, inspect, one-shot stats, logs)
// are all the watchdog asks, and dockerode brought docker-modem with ssh2, @grpc/grpc-js, protobufjs and
// tar-fs for the features it does not use: +26 MiB of RSS measured, a third of the daemon's idle process
// (issue 21 §3's budget is 80 MiB idle with the shipped profile, which has container probes). The answers
// are read as docker-modem read them (JSON when the body parses, the bytes otherwise; a status other than
// 200 is an error carrying `statusCode` and the body as `json`), so `classify` says the same things.

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
  const target = targetFromHost(opts.dockerHost, opts.tls);
  const { endpoint } = target;
  // The agent is made on first use so that a daemon without Docker probes never touches the socket.
  let agent: HttpAgent | undefined;
  const get = (path: string, signal: AbortSignal, raw = false): Promise<unknown> => {
    // A DOCKER_HOST we cannot use fails every call the same way, not the daemon's start:
    // only the container probes depend on it, and they say why.
    if ('unsupported' in target) throw new DockerUnavailableError(target.unsupported, 'unsupported_host');
    agent ??= freshConnections(target.conn);
    return engineGet(target.conn, agent, path, signal, raw);
  };
  return {
    endpoint,
    async inspect(container, signal) {
      try {
        const answer: unknown = await get(`/containers/${encodeURIComponent(container)}/json`, signal);
        return expectShape<ContainerInspect>(answer, (a) => isObject(a.State) && isObject(a.HostConfig) && isObject(a.Config), endpoint);
      } catch (err) {
        throw classify(err, container, endpoint, signal);
      }
    },
    async list(labels, signal) {
      try {
        const answer: unknown = await get(`/containers/json?${new URLSearchParams({ all: 'true', filters: JSON.stringify({ label: labels }) })}`, signal);
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
        const answer: unknown = await get(`/containers/${encodeURIComponent(container)}/stats?stream=false&one-shot=true`, signal);
        return expectShape<ContainerStats>(answer, (a) => isObject(a.memory_stats), endpoint);
      } catch (err) {
        throw classify(err, container, endpoint, signal);
      }
    },
    async logs(container, tail, signal) {
      try {
        // follow=false answers one body and ends. Kept as bytes even when they parse as JSON (a TTY container's
        // log may be one JSON line): the frames are read below.
        const answer: unknown = await get(`/containers/${encodeURIComponent(container)}/logs?stdout=true&stderr=true&follow=false&tail=${tail}`, signal, true);
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
function freshConnections(conn: Connection): HttpAgent {
  return conn.protocol === 'https' ? new HttpsAgent({ keepAlive: false }) : new HttpAgent({ keepAlive: false });
}

/** Where and how the Engine is reached: a unix socket, or a host and port over http or https (with TLS client files). */
interface Connection {
  protocol: 'http' | 'https';
  socketPath?: string;
  host?: string;
  port?: number;
  ca?: string;
  cert?: string;
  key?: string;
}

type Target = { conn: Connection; endpoint: string } | { unsupported: string; endpoint: string };

function targetFromHost(dockerHost: string | undefined, tls?: DockerTls): Target {
  if (!dockerHost) return { conn: { protocol: 'http', socketPath: '/var/run/docker.sock' }, endpoint: 'unix:///var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) {
    const socketPath = dockerHost.slice('unix://'.length);
    return { conn: { protocol: 'http', socketPath }, endpoint: dockerHost };
  }
  if (/^(tcp|http|https):\/\//.test(dockerHost)) {
    let u: URL;
    try {
      u = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    } catch {
      return { unsupported: `DOCKER_HOST "${dockerHost}" is not a valid address`, endpoint: dockerHost };
    }
    return {
      conn: tls
        ? { host: u.hostname, port: Number(u.port || 2376), protocol: 'https', ca: tls.ca, cert: tls.cert, key: tls.key }
        : { host: u.hostname, port: Number(u.port || 2375), protocol: u.protocol === 'https:' ? 'https' : 'http' },
      endpoint: dockerHost,
    };
  }
  // ssh:// would need an SSH transport, npipe:// is Windows: say so instead of
  // silently dialling port 2375 on the wrong host.
  return { unsupported: `DOCKER_HOST "${dockerHost}" is not supported: use unix:///path/to/docker.sock or tcp://host:port`, endpoint: dockerHost };
}

/** An answer other than 200, as docker-modem reported it: the status, and the body (parsed when JSON) for the message. */
class EngineStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly json: unknown,
  ) {
    super(`(HTTP code ${statusCode})`);
  }
}

/**
 * One GET to the Engine API. The answer's body parsed as JSON when it parses (`raw`: never), otherwise its
 * bytes; a status other than 200 rejects with an EngineStatusError; a connection error rejects with Node's
 * error (its `code`: ENOENT, ECONNREFUSED, ...); `signal` aborts the call and the body's reading.
 */
function engineGet(conn: Connection, agent: HttpAgent, path: string, signal: AbortSignal, raw: boolean): Promise<unknown> {
  const { protocol, ...where } = conn;
  const options: RequestOptions = { ...where, agent, path, method: 'GET', signal };
  return new Promise((resolve, reject) => {
    const req = (protocol === 'https' ? httpsRequest : httpRequest)(options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      // A connection closed mid-body ends without 'end': the request's error (or this) says so.
      res.on('aborted', () => reject(Object.assign(new Error('the connection closed before the answer ended'), { code: 'ECONNRESET' })));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        let answer: unknown = body;
        if (!raw) {
          try {
            answer = JSON.parse(body.toString('utf8'));
          } catch {
            // Not JSON: the bytes, as docker-modem gave them.
          }
        }
        if (res.statusCode === 200) resolve(answer);
        else reject(new EngineStatusError(res.statusCode ?? 0, answer));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);
}

/** `engineGet` hands back a Buffer when the body is not JSON: then it was not the Engine that answered. */
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
