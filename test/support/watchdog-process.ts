// The daemon as a real process (`bin/watchdog.js run`) on a free port of 127.0.0.1, for tests of
// signals, reloads and faults that only a separate process shows: its JSON log lines parsed as they
// come, its stderr kept whole (an unhandled rejection or a stack trace lands there).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { eventually } from './engine.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'watchdog.js');

export interface RunningWatchdog {
  child: ChildProcess;
  url: string;
  logs: Record<string, unknown>[];
  /** Everything written to stderr so far. */
  stderr(): string;
  exited: Promise<number | null>;
}

export async function startWatchdog(configPath: string, env: Record<string, string> = {}, opts: Pick<SpawnOptions, 'uid' | 'gid'> = {}): Promise<RunningWatchdog> {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'run'], {
    env: { PATH: process.env.PATH, WATCHDOG_CONFIG: configPath, WATCHDOG_PORT: String(port), WATCHDOG_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...opts,
  });
  const logs: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      // Every stdout line must be a JSON log record: parse failures fail the test.
      logs.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await eventually(() => logs.some((l) => l.msg === 'stack-watchdog started') || child.exitCode !== null, 'the daemon to start', 20_000);
  if (child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode}: ${stderr}`);
  return { child, url, logs, stderr: () => stderr, exited };
}
