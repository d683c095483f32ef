// What the terminal commands that talk to the running daemon share (`watchdog maintenance`,
// `watchdog incidents`): where it is, one request with the error wording and exit codes, and reading
// a reply back as the view it should be.
// Exit codes: 1 the daemon refused or answered something unexpected, 3 the daemon cannot be reached.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Static, TSchema } from '@sinclair/typebox';
import { readView } from './report/schemas.js';
import { ErrorReply } from './server/schemas.js';

export interface Out {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const stdio: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** The command's options and words; undefined when they cannot be read (said on stderr with the usage: exit 2). */
export function commandArgs<O extends NonNullable<ParseArgsConfig['options']>>(command: string, usage: string, argv: string[], options: O, io: Out) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options });
  } catch (err) {
    io.err(`${command}: ${(err as Error).message}\n\n${usage}`);
    return undefined;
  }
}

/** --url, else $WATCHDOG_URL, else the local daemon on $WATCHDOG_PORT (9469). */
export function daemonUrl(url: string | undefined, env: NodeJS.ProcessEnv): string {
  return (url ?? env.WATCHDOG_URL ?? `http://127.0.0.1:${env.WATCHDOG_PORT || 9469}`).replace(/\/+$/, '');
}

export interface DaemonRequest {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Sends the request and reads the 2xx reply as `schema`; anything else is printed (as `command: ...`)
 * and becomes the exit code.
 */
export async function askDaemon<T extends TSchema>(
  command: string,
  base: string,
  request: DaemonRequest,
  schema: T,
  what: string,
  io: Out,
): Promise<{ ok: true; value: Static<T> } | { ok: false; code: number }> {
  let res: Response;
  try {
    res = await fetch(`${base}${request.path}`, {
      method: request.method,
      headers: { ...request.headers, ...(request.body ? { 'content-type': 'application/json' } : {}) },
      body: request.body ? JSON.stringify(request.body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    io.err(`${command}: cannot reach the daemon at ${base}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message} (set --url or WATCHDOG_URL)\n`);
    return { ok: false, code: 3 };
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: quoted below as it came.
  }
  if (!res.ok) {
    const error = readView(ErrorReply, body);
    io.err(`${command}: the daemon answered ${res.status}: ${error.ok ? error.value.message : quote(text)}\n`);
    return { ok: false, code: 1 };
  }
  const view = readView(schema, body);
  if (view.ok) return view;
  // A 2xx that is not the view asked for: a proxy's page, another program on the port, a version skew.
  io.err(
    `${command}: ${base}${request.path} answered ${res.status} but not with ${what} (${body === undefined ? `not JSON: ${quote(text)}` : view.problem}); is ${base} a stack-watchdog of this version?\n`,
  );
  return { ok: false, code: 1 };
}

function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
}
