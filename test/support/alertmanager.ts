import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { makeTempDir, startProcess, type ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

export interface AlertmanagerOptions {
  /** Small defaults so a test sees notifications/resolution in seconds, not minutes. */
  groupWait?: string; // default '1s'
  groupInterval?: string; // default '1s'
  repeatInterval?: string; // default '1m'
  resolveTimeout?: string; // default '5s'
  /** Replaces the generated am.yml entirely (object, written as JSON = valid YAML). */
  config?: object;
  /** A port chosen beforehand (e.g. one Prometheus already sends to); default a free one. */
  port?: number;
  /**
   * Clustering on: gossip on 127.0.0.1:`listenPort` (TCP and UDP), joining `peers` (host:port).
   * startAlertmanagerCluster sets this; default off.
   */
  cluster?: { listenPort: number; peers: string[]; peerTimeout?: string };
}

export interface AlertmanagerHandle {
  /** Base URL, e.g. http://127.0.0.1:41235 */
  url: string;
  port: number;
  /** Temp dir holding am.yml, data/ and alertmanager.log (kept across stop/start). */
  dir: string;
  /** The current process, undefined while stopped. */
  process(): ManagedProcess | undefined;
  isRunning(): boolean;
  /** Stops the process; the port and storage dir stay reserved for start(). */
  stop(): Promise<void>;
  /** (Re)starts on the SAME port and storage dir, resolves when /-/ready answers. No-op if running. */
  start(): Promise<void>;
}

export async function startAlertmanager(opts: AlertmanagerOptions = {}): Promise<AlertmanagerHandle> {
  const dir = makeTempDir('alertmanager');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const configFile = join(dir, 'am.yml');
  const config = opts.config ?? {
    global: { resolve_timeout: opts.resolveTimeout ?? '5s' },
    route: {
      receiver: 'blackhole',
      group_by: ['alertname'],
      group_wait: opts.groupWait ?? '1s',
      group_interval: opts.groupInterval ?? '1s',
      repeat_interval: opts.repeatInterval ?? '1m',
    },
    // A receiver with only a name drops notifications: nothing leaves the machine.
    receivers: [{ name: 'blackhole' }],
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));

  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let proc: ManagedProcess | undefined;

  const start = async (): Promise<void> => {
    if (proc?.isRunning()) return;
    proc = await startProcess({
      name: 'alertmanager',
      command: 'prometheus-alertmanager',
      args: [
        `--config.file=${configFile}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // Empty = clustering off: no gossip port on 0.0.0.0:9094, and /api/v2/status
        // then reports cluster.status "disabled" (healthy for a single node).
        ...(opts.cluster
          ? [
              `--cluster.listen-address=127.0.0.1:${opts.cluster.listenPort}`,
              // Without it memberlist refuses to advertise a loopback address it picked itself.
              `--cluster.advertise-address=127.0.0.1:${opts.cluster.listenPort}`,
              ...opts.cluster.peers.map((p) => `--cluster.peer=${p}`),
              // How long a node waits per position in the peer list for the ones before it to notify
              // (default 15s): short, so a test sees the fail-over in seconds.
              `--cluster.peer-timeout=${opts.cluster.peerTimeout ?? '15s'}`,
              // Names the node in every notification it sends (the webhook's externalURL).
              `--web.external-url=${url}`,
            ]
          : ['--cluster.listen-address=']),
        `--storage.path=${dataDir}`,
      ],
      cwd: dir,
      logFile: join(dir, 'alertmanager.log'), // appended: one log across restarts
      readyUrl: `${url}/-/ready`,
    });
  };
  await start();

  return {
    url,
    port,
    dir,
    process: () => proc,
    isRunning: () => proc?.isRunning() ?? false,
    start,
    async stop() {
      await proc?.stop();
    },
  };
}

export interface ClusterOptions extends Omit<AlertmanagerOptions, 'port' | 'cluster'> {
  /** --cluster.peer-timeout: each node waits its position times this before notifying. Default 2s. */
  peerTimeout?: string;
}

/**
 * Two (or `size`) Alertmanagers on 127.0.0.1 gossiping with each other, each listing every other as a
 * peer; resolves when every node reports cluster.status "ready" with all the others as peers.
 */
export async function startAlertmanagerCluster(opts: ClusterOptions = {}, size = 2): Promise<AlertmanagerHandle[]> {
  const gossip = await Promise.all(Array.from({ length: size }, () => freePort()));
  const peerTimeout = opts.peerTimeout ?? '2s';
  const nodes = await Promise.all(
    gossip.map((listenPort) => startAlertmanager({ ...opts, cluster: { listenPort, peerTimeout, peers: gossip.filter((p) => p !== listenPort).map((p) => `127.0.0.1:${p}`) } })),
  );
  const statuses = () => Promise.all(nodes.map(async (n) => (await (await fetch(`${n.url}/api/v2/status`)).json()) as { cluster: { status: string; peers?: unknown[] } }));
  let seen: unknown;
  await waitFor(
    'the Alertmanager cluster to settle',
    async () => {
      const all = await statuses();
      seen = all.map((s) => s.cluster);
      return all.every((s) => s.cluster.status === 'ready' && (s.cluster.peers?.length ?? 0) === size);
    },
    { timeoutMs: 90_000, intervalMs: 200, describe: () => seen },
  );
  return nodes;
}
