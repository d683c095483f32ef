import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { fileTail, onExit } from './process.js';

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
    // A minute, not seconds: at load 15-20 `docker version` has taken over 10 s, and a slow answer
    // read as "no dockerd" silently skipped a test in a CI run that had dockerd.
    await docker(['version', '--format', '{{.Server.Version}}'], 60_000);
    await docker(['image', 'inspect', '--format', '{{.Id}}', TEST_IMAGE], 60_000);
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

/** A Docker Engine of the test's own, on its own socket: never the machine's shared one. */
export interface SecondDockerd {
  /** The socket's path. */
  socket: string;
  /** `unix://` + the socket, as a probe's `docker:` field takes it. */
  host: string;
  /** `docker -H <this Engine> ARGS`. */
  d2(args: string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string }>;
  /** Stops dockerd by its pid (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits for it to exit. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same data-root (containers, images and restart policies kept) and waits until it answers. */
  start(): Promise<void>;
  /** Removes its containers, stops it and deletes its folders; idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a second dockerd (STACK.md's recipe: --bridge=none, no iptables, vfs) with its data-root,
 * exec-root, pidfile and socket in a temp dir, and loads the test image into it from the first
 * Engine via docker save/load (nothing can be pulled here).
 */
export async function startSecondDockerd(): Promise<SecondDockerd> {
  const dir = mkdtempSync(join(tmpdir(), 'wd-d2-'));
  const socket = join(dir, 'd.sock');
  const host = `unix://${socket}`;
  const d2 = (args: string[], timeoutMs?: number) => docker(['-H', host, ...args], timeoutMs);
  let child: ChildProcess | undefined;
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  // A test that dies before close() must not leave the Engine running: SIGTERM stops its containers too.
  const unhook = onExit(() => {
    if (running()) child!.kill('SIGTERM');
  });

  // dockerd's own log, for the error when it does not come up.
  const log = join(dir, 'dockerd.log');
  const start = async () => {
    if (running()) return;
    const args = ['--host', host, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'pid')];
    const until = Date.now() + 60_000;
    for (;;) {
      const from = existsSync(log) ? statSync(log).size : 0;
      const out = openSync(log, 'a');
      const proc = spawn('dockerd', [...args, '--bridge=none', '--iptables=false', '--ip-masq=false', '--storage-driver=vfs'], { stdio: ['ignore', out, out] });
      closeSync(out);
      child = proc;
      for (;;) {
        try {
          await d2(['version', '--format', '{{.Server.Version}}'], 10_000);
          return;
        } catch (err) {
          if (Date.now() > until) throw new Error(`the second dockerd did not answer at ${host}: ${String(err)}\n${fileTail(log)}`);
          // Right after a SIGKILL the first new dockerd exits here, its log ending in "failed to start
          // containerd: timeout waiting for containerd to start" (the killed Engine's containerd is still
          // going away): start it again rather than fail, bounded by the same deadline.
          if (proc.exitCode !== null || proc.signalCode !== null) {
            // Its own last error (the log is appended to by every start).
            const why = lastError(readFileSync(log, 'utf8').slice(from));
            console.log(`# the second dockerd exited at start (${proc.exitCode ?? proc.signalCode}: ${why}); starting it again`);
            break;
          }
          await sleep(250);
        }
      }
      await sleep(1000);
    }
  };

  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const proc = child;
    if (!proc || !running()) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    // dockerd stops its containers before it exits (up to their stop timeout, 10 s by default).
    if ((await Promise.race([exited.then(() => true), sleep(30_000, false)])) === false) {
      proc.kill('SIGKILL');
      await exited;
    }
  };

  // Never throws: a cleanup that fails must not skip the test's other after-hooks (the watchdog's kill).
  const close = async () => {
    const began = Date.now();
    try {
      if (running()) {
        const ids = (await d2(['ps', '-aq']).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
        if (ids.length > 0) await d2(['rm', '-f', '-v', ...ids]).catch(() => undefined);
      }
      await stop();
      unhook();
      // A dockerd killed with SIGKILL leaves its bind mount of the data-root behind (the next one unmounts only its own).
      const mounts = readFileSync('/proc/mounts', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[1] ?? '')
        .filter((m) => m.startsWith(`${dir}/`));
      for (const m of mounts.reverse()) execFileSync('umount', ['-l', m], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      console.log(`# the second dockerd removed in ${Date.now() - began} ms`);
    } catch (err) {
      console.log(`# the second dockerd's cleanup (${dir}) failed: ${String(err)}`);
    }
  };

  try {
    await start();
    const tar = join(dir, 'image.tar');
    await docker(['save', '-o', tar, TEST_IMAGE]);
    await d2(['load', '-i', tar]);
    rmSync(tar);
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  return { socket, host, d2, stop, start, close };
}

function lastError(log: string): string {
  return (
    log
      .split('\n')
      .filter((l) => /level=(fatal|error)|failed to start/i.test(l))
      .pop() ?? ''
  );
}

/**
 * The command of a container that waits for its trigger (`pullTrigger`), then runs `command` in a
 * shell: a test decides when the container acts (exits, allocates past its limit), after Docker and
 * the probe under test have seen it running.
 *
 * For `oomKilledContainer`, `command` must exceed the container's memory limit, and the wait is why
 * the kill is seen: containerd 1.6's shim (Debian's) starts watching the container's cgroup for OOM
 * events only after the process has started (containerd#8180, fixed upstream by #12405). A process that
 * allocates at once can be killed before the watch is in place; the kill is then lost for good, more
 * often under load. `docker run -d` returns after the watch is set, so the kill of a container
 * triggered after it is seen. Measured (4 busy loops, 6 such containers started at once, load 7-11):
 * 7 of 48 kills lost when they allocate at start, 3 of 48 when triggered; what is left is the race
 * below. The trigger file is in the container's own filesystem, so a restart policy's next start runs
 * `command` at once.
 */
export function afterTrigger(command: string): string[] {
  return ['sh', '-c', `until [ -e ${TRIGGER_FILE} ]; do sleep 0.1; done; ${command}`];
}

const TRIGGER_FILE = '/tmp/trigger-now';
const OOM_ATTEMPTS = 5;

/** Lets a container made with `afterTrigger` go on to its command. */
export async function pullTrigger(name: string): Promise<void> {
  await docker(['exec', name, 'touch', TRIGGER_FILE]);
}

/**
 * A container the kernel's OOM killer killed, as Docker recorded it: `create` makes one whose command is
 * `afterTrigger(...)`, and this pulls its trigger. Docker records the kill from a cgroup event of its own,
 * which can land just after the exit, or, when the kill and the exit race (seen at load ~15: exit 137,
 * OOMKilled false for good), never: a known gap of Docker's (moby#18510, nomad#12735). Tests judge what
 * Docker recorded, so a container whose kill Docker lost is replaced, at most five times (a loss costs
 * ~12 s); each wait is bounded and a last miss throws with the container's State.
 */
export async function oomKilledContainer(create: () => Promise<string>): Promise<{ name: string; info: ContainerJson }> {
  for (let attempt = 1; ; attempt++) {
    const name = await create();
    await pullTrigger(name);
    await waitForState(name, (i) => i.State.Status === 'exited', 'exited');
    const recorded = await waitForState(name, (i) => i.State.OOMKilled, 'OOM kill recorded', 10_000).catch((err: Error) => err);
    if (!(recorded instanceof Error)) return { name, info: recorded };
    if (attempt === OOM_ATTEMPTS) throw new Error(`${recorded.message} (attempt ${attempt} of ${OOM_ATTEMPTS})`);
  }
}
