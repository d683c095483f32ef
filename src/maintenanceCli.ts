// `watchdog maintenance start|end|list`: a client of the running daemon's /maintenance API, so a
// window opened here is the daemon's (it pages nobody, shows on the page, survives restarts).
// Exit codes: 0 done, 1 the daemon refused, 2 bad usage, 3 the daemon cannot be reached.
import { parseArgs } from 'node:util';
import { MaintenanceList, MaintenanceWindowView, readView } from './report/schemas.js';
import { ErrorReply } from './server/schemas.js';

export const maintenanceUsage = `usage: watchdog maintenance start --duration 30m --reason TEXT [--probe NAME]... [--kind KIND]... [--label KEY=VALUE]...
       watchdog maintenance end ID
       watchdog maintenance list

  Talks to the running daemon at --url (default: $WATCHDOG_URL, else http://127.0.0.1:$WATCHDOG_PORT,
  port 9469) with the token in $WATCHDOG_ADMIN_TOKEN. Without --probe, --kind or --label a window
  covers every probe.
  exit codes: 0 done, 1 the daemon refused (the reason is printed), 2 bad usage, 3 the daemon cannot be reached
`;

interface Out {
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export async function maintenanceCommand(argv: string[], env: NodeJS.ProcessEnv, io: Out = stdio): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        duration: { type: 'string', short: 'd' },
        reason: { type: 'string', short: 'r' },
        probe: { type: 'string', short: 'p', multiple: true },
        kind: { type: 'string', multiple: true },
        label: { type: 'string', multiple: true },
        url: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.err(`watchdog maintenance: ${(err as Error).message}\n\n${maintenanceUsage}`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help) {
    io.out(maintenanceUsage);
    return 0;
  }
  const [action, ...rest] = positionals;
  const base = (values.url ?? env.WATCHDOG_URL ?? `http://127.0.0.1:${env.WATCHDOG_PORT || 9469}`).replace(/\/+$/, '');
  const auth: Record<string, string> = env.WATCHDOG_ADMIN_TOKEN ? { authorization: `Bearer ${env.WATCHDOG_ADMIN_TOKEN}` } : {};
  const usage = (problem: string): number => {
    io.err(`watchdog maintenance: ${problem}\n\n${maintenanceUsage}`);
    return 2;
  };

  let request: { method: string; path: string; body?: unknown };
  if (action === 'start' && !rest.length) {
    if (!values.duration) return usage('start needs --duration, e.g. --duration 30m');
    if (!values.reason) return usage('start needs --reason, e.g. --reason "db upgrade"');
    const labels: Record<string, string> = {};
    for (const l of values.label ?? []) {
      const m = /^([^=]+)=(.*)$/.exec(l);
      if (!m) return usage(`--label: expected KEY=VALUE, got "${l}"`);
      labels[m[1]!] = m[2]!;
    }
    request = {
      method: 'POST',
      path: '/maintenance',
      body: {
        duration: values.duration,
        reason: values.reason,
        ...(values.probe ? { probes: values.probe } : {}),
        ...(values.kind ? { kinds: values.kind } : {}),
        ...(values.label ? { labels } : {}),
      },
    };
  } else if (action === 'end' && rest.length === 1) request = { method: 'DELETE', path: `/maintenance/${encodeURIComponent(rest[0]!)}` };
  else if (action === 'list' && !rest.length) request = { method: 'GET', path: '/maintenance' };
  else return usage(action ? `unknown or incomplete command "maintenance ${positionals.join(' ')}"` : 'say start, end or list');

  let res: Response;
  try {
    res = await fetch(`${base}${request.path}`, {
      method: request.method,
      headers: { ...auth, ...(request.body ? { 'content-type': 'application/json' } : {}) },
      body: request.body ? JSON.stringify(request.body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    io.err(`watchdog maintenance: cannot reach the daemon at ${base}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message} (set --url or WATCHDOG_URL)\n`);
    return 3;
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
    io.err(`watchdog maintenance: the daemon answered ${res.status}: ${error.ok ? error.value.message : quote(text)}\n`);
    return 1;
  }
  /** A 2xx that is not the view asked for: a proxy's page, another program on the port, a version skew. */
  const unexpected = (what: string, problem: string): number => {
    io.err(
      `watchdog maintenance: ${base}${request.path} answered ${res.status} but not with ${what} (${body === undefined ? `not JSON: ${quote(text)}` : problem}); is ${base} a stack-watchdog of this version?\n`,
    );
    return 1;
  };
  if (action === 'list') {
    const list = readView(MaintenanceList, body);
    if (!list.ok) return unexpected('the list of maintenance windows', list.problem);
    const show = (w: MaintenanceWindowView) => `${w.id}  ${w.startsAt} .. ${w.until}  ${w.covered.join(',') || '-'}  ${w.reason}\n`;
    const { active, upcoming } = list.value;
    io.out(active.length ? `active:\n${active.map(show).join('')}` : 'active: none\n');
    if (upcoming.length) io.out(`upcoming:\n${upcoming.map(show).join('')}`);
    return 0;
  }
  const window = readView(MaintenanceWindowView, body);
  if (!window.ok) return unexpected('a maintenance window', window.problem);
  if (action === 'start') io.out(`${window.value.id}  until ${window.value.until}  covers ${window.value.covered.join(', ') || 'no probe'}\n`);
  else io.out(`${window.value.id} ended\n`);
  return 0;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
}
