// Read-only Docker Engine access (inspect, stats, ping). The watchdog never execs into a container:
// inspect answers what the guide's `docker exec ... env` asked, without a shell.
import Docker from 'dockerode';

/** Docker itself cannot be asked: no socket, permission denied, daemon stopped. */
export class DockerUnavailableError extends Error {
  constructor(message: string, readonly code?: string) {
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
  State: { Status: string; Running: boolean; Restarting: boolean; OOMKilled: boolean; ExitCode: number; Error?: string; StartedAt?: string; FinishedAt?: string };
  HostConfig: { Memory?: number; RestartPolicy?: { Name?: string } };
  Config: { Env?: string[] | null; Image?: string };
}

export interface ContainerStats {
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
}

export interface DockerClient {
  /** Where the engine is reached, for messages. */
  readonly endpoint: string;
  inspect(container: string, signal: AbortSignal): Promise<ContainerInspect>;
  stats(container: string, signal: AbortSignal): Promise<ContainerStats>;
}

export function createDockerClient(opts: { dockerHost?: string }): DockerClient {
  const { modemOptions, endpoint } = modemFromHost(opts.dockerHost);
  // dockerode is created on first use so that a daemon without Docker probes never touches the socket.
  let docker: Docker | undefined;
  const client = () => (docker ??= new Docker(modemOptions));
  return {
    endpoint,
    async inspect(container, signal) {
      try {
        return (await client().getContainer(container).inspect({ abortSignal: signal })) as unknown as ContainerInspect;
      } catch (err) {
        throw classify(err, container, endpoint, signal);
      }
    },
    async stats(container, signal) {
      try {
        // one-shot: the default call waits for a second sample (about 2 s) to compute CPU deltas.
        return (await client()
          .getContainer(container)
          .stats({ stream: false, 'one-shot': true, abortSignal: signal } as never)) as unknown as ContainerStats;
      } catch (err) {
        throw classify(err, container, endpoint, signal);
      }
    },
  };
}

function modemFromHost(dockerHost: string | undefined): { modemOptions: Docker.DockerOptions; endpoint: string } {
  if (!dockerHost) return { modemOptions: { socketPath: '/var/run/docker.sock' }, endpoint: 'unix:///var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) {
    const socketPath = dockerHost.slice('unix://'.length);
    return { modemOptions: { socketPath }, endpoint: dockerHost };
  }
  const u = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return {
    modemOptions: { host: u.hostname, port: Number(u.port || 2375), protocol: u.protocol === 'https:' ? 'https' : 'http' },
    endpoint: dockerHost,
  };
}

function classify(err: unknown, container: string, endpoint: string, signal: AbortSignal): Error {
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.statusCode === 404) return new ContainerNotFoundError(container);
  if (signal.aborted) {
    const timeout = new Error(`Docker Engine at ${endpoint} did not answer in time`);
    timeout.name = 'AbortError';
    return timeout;
  }
  switch (e.code) {
    case 'ENOENT':
      return new DockerUnavailableError(`no Docker socket at ${endpoint}`, e.code);
    case 'EACCES':
      return new DockerUnavailableError(`permission denied on the Docker socket ${endpoint}`, e.code);
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EPIPE':
      return new DockerUnavailableError(`Docker Engine at ${endpoint} refused the connection (${e.code})`, e.code);
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 500) {
    return new DockerUnavailableError(`Docker Engine at ${endpoint} answered ${e.statusCode}: ${e.message ?? ''}`.trim());
  }
  return err instanceof Error ? err : new Error(String(err));
}
