import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { makeTempDir, startProcess, type ManagedProcess } from './process.js';

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
        '--cluster.listen-address=',
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
