import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { onExit } from './process.js';

// The docker CLI (not dockerode) on purpose: test fixtures then cannot share a
// bug with the code under test, which uses dockerode.

const execFileP = promisify(execFile);

/** Built by scripts/ensure-services.sh from the static /bin/busybox (nothing can be pulled here). */
export const TEST_IMAGE = 'watchdog-test/busybox:1';
/** Every test container carries `watchdog-test=1`, plus the creating process's pid. */
export const TEST_LABEL = 'watchdog-test';
export const TEST_PID_LABEL = 'watchdog-test.pid';

/** Runs `docker ARGS`; rejects with docker's stderr in the message. */
export async function docker(args: string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP('docker', args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return { stdout, stderr };
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`docker ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** True when dockerd answers AND the test image exists (i.e. ensure-services.sh has run). */
export async function dockerAvailable(): Promise<boolean> {
  try {
    await docker(['version', '--format', '{{.Server.Version}}'], 10_000);
    await docker(['image', 'inspect', '--format', '{{.Id}}', TEST_IMAGE], 10_000);
    return true;
  } catch {
    return false;
  }
}

let counter = 0;
/**
 * A container name unique across concurrent test files and runs (pid + time + counter),
 * so parallel files on a shared dockerd never collide on names.
 */
export function uniqueName(prefix: string): string {
  const safe = prefix.replace(/[^a-zA-Z0-9_.-]/g, '-').replace(/^[^a-zA-Z0-9]+/, '') || 'c';
  return `${safe}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
}

export interface RunContainerOptions {
  name: string;
  /** e.g. '32m' → HostConfig.Memory 33554432 */
  memory?: string;
  env?: Record<string, string>;
  /** Default ['sleep', '600']. */
  cmd?: string[];
  /** e.g. 'unless-stopped', 'on-failure:3' */
  restart?: string;
  /** e.g. '64m' (for memory pressure via /dev/shm) */
  shmSize?: string;
  /** Default 'none': containers get no address outside loopback. 'host' if it must listen on 127.0.0.1. */
  network?: 'none' | 'host';
  /** Extra labels (the test labels are always added). */
  labels?: Record<string, string>;
  /** More `docker run` options, before the image (e.g. ['--memory-swap', '16m'] or a --health-cmd). */
  extraArgs?: string[];
}

// Names this process created and has not removed: removed at exit.
const created = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  onExit(() => {
    if (created.size === 0) return;
    execFileSync('docker', ['rm', '-f', '-v', ...created], { stdio: 'ignore', timeout: 30_000 });
    created.clear();
  });
}

/** `docker run -d` with the test image and labels. Resolves with the container id once it is created and started. */
export async function runContainer(opts: RunContainerOptions): Promise<{ id: string; name: string }> {
  const args = ['run', '-d', '--name', opts.name, '--network', opts.network ?? 'none'];
  args.push('--label', `${TEST_LABEL}=1`, '--label', `${TEST_PID_LABEL}=${process.pid}`);
  for (const [k, v] of Object.entries(opts.labels ?? {})) args.push('--label', `${k}=${v}`);
  if (opts.memory) args.push('--memory', opts.memory);
  if (opts.shmSize) args.push('--shm-size', opts.shmSize);
  if (opts.restart) args.push('--restart', opts.restart);
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push('-e', `${k}=${v}`);
  args.push(...(opts.extraArgs ?? []));
  args.push(TEST_IMAGE, ...(opts.cmd ?? ['sleep', '600']));

  installExitHook();
  created.add(opts.name); // before run: a half-created container must be cleaned too
  const { stdout } = await docker(args);
  return { id: stdout.trim(), name: opts.name };
}

/** `docker rm -f -v`; a missing container is not an error (cleanup must be idempotent). */
export async function removeContainer(name: string): Promise<void> {
  try {
    await docker(['rm', '-f', '-v', name]);
  } catch (err) {
    if (!/no such container/i.test(String(err))) throw err;
  }
  created.delete(name);
}

/**
 * `docker stop -t`. Default 1 s: busybox `sleep` as PID 1 ignores SIGTERM, so docker's
 * default 10 s grace would only slow tests down before the SIGKILL.
 */
export async function stopContainer(name: string, timeoutSeconds = 1): Promise<void> {
  await docker(['stop', '-t', String(timeoutSeconds), name]);
}

export async function startContainer(name: string): Promise<void> {
  await docker(['start', name]);
}

/**
 * The part of `docker inspect` output (one container) that the tests read. Declared here, not
 * imported from src/: the fixtures must not share a type (or its mistakes) with the code under test.
 */
export interface ContainerJson {
  Id: string;
  /** With the leading slash, e.g. "/mem-loop-123-...". */
  Name: string;
  RestartCount: number;
  State: {
    /** created | running | paused | restarting | removing | exited | dead */
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    ExitCode: number;
    Error: string;
    /** RFC 3339 with nanoseconds. */
    StartedAt: string;
    FinishedAt: string;
    /** Only for a container with a HEALTHCHECK. */
    Health?: {
      /** starting | healthy | unhealthy */
      Status: string;
      FailingStreak: number;
      Log: { Start: string; End: string; ExitCode: number; Output: string }[] | null;
    };
  };
  HostConfig: {
    /** Bytes; 0 when there is no limit. */
    Memory: number;
    NetworkMode: string;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
  };
  Config: {
    /** "KEY=value" entries; null when there are none. */
    Env: string[] | null;
    Labels: Record<string, string> | null;
  };
}

/** Parsed `docker inspect` of one container (State, Config.Env, HostConfig.Memory, ...). */
export async function inspectContainer(name: string): Promise<ContainerJson> {
  const { stdout } = await docker(['inspect', '--type', 'container', name]);
  const parsed = JSON.parse(stdout) as ContainerJson[];
  const info = parsed[0];
  if (info === undefined) throw new Error(`docker inspect ${name}: no container in the answer: ${stdout.trim()}`);
  return info;
}

/**
 * Removes test containers by label. By default only this process's (its pid label):
 * test files run in parallel against one dockerd and must not delete each other's
 * containers. `allRuns: true` removes every `watchdog-test=1` container.
 * Returns how many were removed.
 */
export async function removeAllTestContainers(opts: { allRuns?: boolean } = {}): Promise<number> {
  const filter = opts.allRuns ? `label=${TEST_LABEL}=1` : `label=${TEST_PID_LABEL}=${process.pid}`;
  const { stdout } = await docker(['ps', '-aq', '--filter', filter]);
  const ids = stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await docker(['rm', '-f', '-v', ...ids]);
  created.clear(); // either way, everything this process created is gone
  return ids.length;
}

/** Polls `docker inspect` until `ok` holds (bounded), returning the last inspect. */
export async function waitForState(name: string, ok: (info: ContainerJson) => boolean, what: string, timeoutMs = 30_000): Promise<ContainerJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await inspectContainer(name);
    if (ok(info)) return info;
    if (Date.now() > deadline) throw new Error(`${name}: ${what} not reached within ${timeoutMs} ms; State: ${JSON.stringify(info.State)}, RestartCount ${info.RestartCount}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
