// `watchdog incidents`: a client of the running daemon's GET /incidents, printed as the same summary
// `?format=text` gives (rendered here from the JSON, read back through report/schemas.ts).
// Exit codes: 0 done, 1 the daemon refused, 2 bad usage, 3 the daemon cannot be reached.
import { incidentsText } from './report/incidents.js';
import { IncidentList } from './report/schemas.js';
import { askDaemon, commandArgs, daemonUrl, stdio, type Out } from './daemonClient.js';

export const incidentsUsage = `usage: watchdog incidents [--probe NAME] [--since 7d|2026-12-01T00:00:00Z] [--open | --ended] [--format text|json]

  The running daemon's incidents (each probe's stretches of failing), newest first, with the downtime
  per probe. Talks to the daemon at --url (default: $WATCHDOG_URL, else http://127.0.0.1:$WATCHDOG_PORT,
  port 9469).
  exit codes: 0 done, 1 the daemon refused (the reason is printed), 2 bad usage, 3 the daemon cannot be reached
`;

const options = {
  probe: { type: 'string', short: 'p' },
  since: { type: 'string', short: 's' },
  open: { type: 'boolean' },
  ended: { type: 'boolean' },
  format: { type: 'string', short: 'f', default: 'text' },
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function incidentsCommand(argv: string[], env: NodeJS.ProcessEnv, io: Out = stdio): Promise<number> {
  const args = commandArgs('watchdog incidents', incidentsUsage, argv, options, io);
  if (!args) return 2;
  const { values, positionals } = args;
  if (values.help) {
    io.out(incidentsUsage);
    return 0;
  }
  const usage = (problem: string): number => {
    io.err(`watchdog incidents: ${problem}\n\n${incidentsUsage}`);
    return 2;
  };
  if (positionals.length) return usage(`unexpected "${positionals.join(' ')}": the filters are options (--probe, --since, --open, --ended)`);
  if (values.open && values.ended) return usage('--open and --ended exclude each other');
  if (values.format !== 'text' && values.format !== 'json') return usage(`--format must be text or json, not "${values.format}"`);
  const query = new URLSearchParams();
  if (values.probe !== undefined) query.set('probe', values.probe);
  if (values.since !== undefined) query.set('since', values.since);
  if (values.open || values.ended) query.set('open', String(Boolean(values.open)));
  const path = `/incidents${query.size ? `?${query}` : ''}`;
  const list = await askDaemon('watchdog incidents', daemonUrl(values.url, env), { method: 'GET', path }, IncidentList, 'the list of incidents', io);
  if (!list.ok) return list.code;
  io.out(values.format === 'json' ? `${JSON.stringify(list.value, null, 2)}\n` : incidentsText(list.value));
  return 0;
}
