// `watchdog maintenance start|end|list`: a client of the running daemon's /maintenance API, so a
// window opened here is the daemon's (it pages nobody, shows on the page, survives restarts).
// Exit codes: 0 done, 1 the daemon refused, 2 bad usage, 3 the daemon cannot be reached.
import type { TSchema } from '@sinclair/typebox';
import { MaintenanceList, MaintenanceWindowView } from './report/schemas.js';
import { askDaemon, commandArgs, daemonUrl, stdio, type DaemonRequest, type Out } from './daemonClient.js';

export const maintenanceUsage = `usage: watchdog maintenance start --duration 30m --reason TEXT [--probe NAME]... [--kind KIND]... [--label KEY=VALUE]...
       watchdog maintenance end ID
       watchdog maintenance list

  Talks to the running daemon at --url (default: $WATCHDOG_URL, else http://127.0.0.1:$WATCHDOG_PORT,
  port 9469) with the token in $WATCHDOG_ADMIN_TOKEN. Without --probe, --kind or --label a window
  covers every probe.
  exit codes: 0 done, 1 the daemon refused (the reason is printed), 2 bad usage, 3 the daemon cannot be reached
`;

const options = {
  duration: { type: 'string', short: 'd' },
  reason: { type: 'string', short: 'r' },
  probe: { type: 'string', short: 'p', multiple: true },
  kind: { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function maintenanceCommand(argv: string[], env: NodeJS.ProcessEnv, io: Out = stdio): Promise<number> {
  const args = commandArgs('watchdog maintenance', maintenanceUsage, argv, options, io);
  if (!args) return 2;
  const { values, positionals } = args;
  if (values.help) {
    io.out(maintenanceUsage);
    return 0;
  }
  const [action, ...rest] = positionals;
  const base = daemonUrl(values.url, env);
  const auth: Record<string, string> = env.WATCHDOG_ADMIN_TOKEN ? { authorization: `Bearer ${env.WATCHDOG_ADMIN_TOKEN}` } : {};
  const usage = (problem: string): number => {
    io.err(`watchdog maintenance: ${problem}\n\n${maintenanceUsage}`);
    return 2;
  };

  let request: DaemonRequest;
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

  const ask = <T extends TSchema>(schema: T, what: string) => askDaemon('watchdog maintenance', base, { ...request, headers: auth }, schema, what, io);
  if (action === 'list') {
    const list = await ask(MaintenanceList, 'the list of maintenance windows');
    if (!list.ok) return list.code;
    const show = (w: MaintenanceWindowView) => `${w.id}  ${w.startsAt} .. ${w.until}  ${w.covered.join(',') || '-'}  ${w.reason}\n`;
    const { active, upcoming } = list.value;
    io.out(active.length ? `active:\n${active.map(show).join('')}` : 'active: none\n');
    if (upcoming.length) io.out(`upcoming:\n${upcoming.map(show).join('')}`);
    return 0;
  }
  const window = await ask(MaintenanceWindowView, 'a maintenance window');
  if (!window.ok) return window.code;
  if (action === 'start') io.out(`${window.value.id}  until ${window.value.until}  covers ${window.value.covered.join(', ') || 'no probe'}\n`);
  else io.out(`${window.value.id} ended\n`);
  return 0;
}
