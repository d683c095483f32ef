import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, fstatSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// ---------------------------------------------------------------------------
// Exit cleanup. A test that throws before its t.after runs, or a Ctrl-C, must
// not leave a prometheus/alertmanager/container behind holding ports and disk.
// ---------------------------------------------------------------------------

const exitHooks = new Set<() => void>();
let hooksInstalled = false;

function runExitHooks(): void {
  // Order is not guaranteed (a temp dir may be registered before its process),
  // so temp-dir removal retries rather than relying on kills landing first.
  for (const hook of [...exitHooks]) {
    exitHooks.delete(hook);
    try {
      hook();
    } catch {
      // best effort: one failing hook must not skip the others
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', runExitHooks);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Only act when nobody else listens: a test may install its own handler (or
    // process.emit('SIGTERM') to test graceful shutdown) and must not have its
    // fixtures killed under it; the 'exit' hook still covers that case. Alone,
    // we clean up and re-raise so the process dies of the signal as by default.
    const handler = () => {
      if (process.listenerCount(sig) > 1) return;
      process.off(sig, handler);
      runExitHooks();
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

/** Register a synchronous cleanup run at process exit (or SIGINT/SIGTERM/SIGHUP). Returns an unregister function. */
export function onExit(hook: () => void): () => void {
  installHooks();
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}

/**
 * A fresh temp dir, removed at process exit unless KEEP_TEST_TMP=1 (set it to
 * look at a failed run's logs, configs and tsdb afterwards).
 */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `watchdog-${prefix}-`));
  if (process.env.KEEP_TEST_TMP !== '1') {
    onExit(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }));
  }
  return dir;
}

/** Whether a user who is neither owner nor group may reach files under `path` (o+x on every folder). */
export function traversableByOthers(path: string): boolean {
  for (let dir = path; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dirname(dir) === dir) return true;
  }
}

/** Last `maxLines` lines of a file (reads at most the last 64 KiB), '' if unreadable. */
export function fileTail(path: string, maxLines = 40): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf
        .toString('utf8')
        .split('\n')
        .slice(-maxLines - 1)
        .join('\n');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------
// HTTP readiness
// ---------------------------------------------------------------------------

export interface WaitForHttpOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Return a reason string when waiting is pointless (e.g. the process died). */
  abortIf?: () => string | undefined;
  /** Extra context appended to the timeout error (e.g. a log tail). */
  describe?: () => string;
}

/** Polls GET `url` until it answers 200; throws after `timeoutMs` (default 30 s). */
export async function waitForHttpOk(url: string, opts: WaitForHttpOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    const reason = opts.abortIf?.();
    if (reason) throw new Error(`${url} will not become ready: ${reason}${suffix(opts)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer(); // drain so the keep-alive socket is released
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).cause ? String((err as Error).cause) : String(err);
    }
    await sleep(intervalMs);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})${suffix(opts)}`);
}

function suffix(opts: WaitForHttpOptions): string {
  const extra = opts.describe?.();
  return extra ? `\n${extra}` : '';
}

// ---------------------------------------------------------------------------
// Long-running programs
// ---------------------------------------------------------------------------

export interface StartProcessOptions {
  /** Short label used in the log file name and error messages. */
  name: string;
  command: string;
  args?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where stdout+stderr go; default `<new temp dir>/<name>.log`. Appended to, so a restart keeps history. */
  logFile?: string;
  /** If set, startProcess resolves only once this URL answers 200. */
  readyUrl?: string;
  readyTimeoutMs?: number;
}

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  readonly logFile: string;
  /** Resolves when the process has exited (or failed to spawn). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
  isRunning(): boolean;
  logTail(maxLines?: number): string;
  /** SIGTERM, SIGKILL after `graceMs` (default 5 s), resolves after exit. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns a program with output going straight to a log file. A file (not a pipe)
 * means a chatty program can never block on a full pipe while the test awaits.
 */
export async function startProcess(opts: StartProcessOptions): Promise<ManagedProcess> {
  const logFile = opts.logFile ?? join(makeTempDir(opts.name), `${opts.name}.log`);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.command, opts.args ?? [], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd); // the child holds its own copy
  }

  let running = true;
  let spawnError: Error | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => {
      running = false;
      spawnError = error;
      resolve({ code: null, signal: null, error });
    });
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  // unref: a forgotten process must not keep the test file's event loop alive
  // forever; the exit hook kills it instead.
  child.unref();
  const unregister = onExit(() => {
    if (running) child.kill('SIGKILL');
  });

  const logTail = (maxLines = 40) => fileTail(logFile, maxLines);
  let stopping: Promise<void> | undefined;
  const handle: ManagedProcess = {
    name: opts.name,
    child,
    pid: child.pid,
    logFile,
    exited,
    isRunning: () => running,
    logTail,
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        if (running) {
          child.ref(); // keep the loop alive until we have seen the exit
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        unregister();
      })();
      return stopping;
    },
  };

  if (opts.readyUrl) {
    try {
      await waitForHttpOk(opts.readyUrl, {
        timeoutMs: opts.readyTimeoutMs ?? 30_000,
        abortIf: () => {
          if (running) return undefined;
          if (spawnError) return `${opts.name} could not be started: ${spawnError.message}`;
          return `${opts.name} exited (exit code ${child.exitCode}, signal ${child.signalCode})`;
        },
        describe: () => `--- ${opts.name} log tail (${logFile}) ---\n${logTail()}`,
      });
    } catch (err) {
      await handle.stop(1_000);
      throw err;
    }
  }
  return handle;
}
