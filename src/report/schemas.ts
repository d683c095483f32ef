// The views the API answers with and `watchdog check --format json` prints, once: TypeBox values give
// the response serialisation, the TypeScript types and the OpenAPI document, and clients of the API
// (`watchdog maintenance`, the tests) read replies back through readView().
import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ProbeStatus, Severity } from '../core/status.js';

export const ProbeView = Type.Object(
  {
    name: Type.String(),
    kind: Type.String(),
    severity: Severity,
    status: ProbeStatus,
    reason: Type.String({ description: 'A short fixed word: ok, timeout, connect, http_status, absent, threshold, dependency_failed, ...' }),
    message: Type.String({ description: 'What happened, for people.' }),
    hint: Type.Union([Type.String(), Type.Null()], { description: 'What to do next, when the probe is not ok.' }),
    value: Type.Union([Type.Number(), Type.Null()], { description: 'The measured number of the last run.' }),
    since: Type.String({ format: 'date-time', description: 'When the current status began.' }),
    lastRun: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    durationMs: Type.Union([Type.Number(), Type.Null()]),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    discovered: Type.Optional(Type.Boolean({ description: 'true for a probe that discovery made for a container found by label; absent for written ones.' })),
    maintenance: Type.Optional(
      Type.Object(
        { id: Type.String(), reason: Type.String(), until: Type.String({ format: 'date-time' }) },
        { description: 'Present while the probe is in a maintenance window: it runs and shows its real status, but pages nobody.' },
      ),
    ),
  },
  { $id: 'ProbeView' },
);
export type ProbeView = Static<typeof ProbeView>;

/** One maintenance window as the API shows it (GET /maintenance, POST /maintenance, /status). */
export const MaintenanceWindowView = Type.Object({
  id: Type.String({ description: 'API windows: m- and 8 hex digits; config windows: their name, recurring ones with @ and the start.' }),
  source: Type.Union([Type.Literal('api'), Type.Literal('config')]),
  reason: Type.String(),
  startsAt: Type.String({ format: 'date-time' }),
  until: Type.String({ format: 'date-time' }),
  probes: Type.Array(Type.String(), { description: 'Probes named; with kinds and labels empty too, the window covers every probe.' }),
  kinds: Type.Array(Type.String()),
  labels: Type.Record(Type.String(), Type.String()),
  covered: Type.Array(Type.String(), { description: 'The probes the window covers now.' }),
});
export type MaintenanceWindowView = Static<typeof MaintenanceWindowView>;

/** GET /maintenance. */
export const MaintenanceList = Type.Object({
  active: Type.Array(MaintenanceWindowView, { description: 'Open windows, soonest end first.' }),
  upcoming: Type.Array(MaintenanceWindowView, { description: "The config windows' next occurrences." }),
});
export type MaintenanceList = Static<typeof MaintenanceList>;

export const HistoryEntry = Type.Object({
  at: Type.String({ format: 'date-time' }),
  status: ProbeStatus,
  reason: Type.String(),
  message: Type.String(),
  value: Type.Union([Type.Number(), Type.Null()]),
  durationMs: Type.Number(),
});

/** One incident: a stretch of failing of one probe (src/incidents/incidents.ts says what counts). */
export const IncidentView = Type.Object({
  probe: Type.String(),
  start: Type.String({ format: 'date-time', description: 'The run that made the probe failing (after failureThreshold).' }),
  end: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'The run that made it ok again; null while it is open.' }),
  open: Type.Boolean(),
  durationSeconds: Type.Number({ description: 'Until the end, or until now while open.' }),
  reasons: Type.Array(Type.String(), { description: 'Every reason its failing runs gave, first seen first.' }),
  message: Type.String({ description: 'The message of the run that opened it.' }),
  hint: Type.Union([Type.String(), Type.Null()]),
  maintenance: Type.Array(Type.String(), { description: 'Maintenance windows that covered the probe while it was open; empty: none (it paged).' }),
});
export type IncidentView = Static<typeof IncidentView>;

/** GET /incidents. */
export const IncidentList = Type.Object({
  generatedAt: Type.String({ format: 'date-time' }),
  since: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'The since filter as a time; null: all kept incidents.' }),
  incidents: Type.Array(IncidentView, { description: 'Newest first.' }),
  downtime: Type.Array(Type.Object({ probe: Type.String(), incidents: Type.Integer(), downtimeSeconds: Type.Number({ description: 'Time in these incidents, counted from `since` when given.' }) }), {
    description: 'Per probe with incidents listed, most downtime first.',
  }),
});
export type IncidentList = Static<typeof IncidentList>;

export const AvailabilityView = Type.Object(
  {
    hour: Type.Union([Type.Number(), Type.Null()]),
    day: Type.Union([Type.Number(), Type.Null()]),
    week: Type.Union([Type.Number(), Type.Null()]),
  },
  { description: "Share of the time (0-1) outside the probe's own incidents over the last hour, day and week, since its first result; null: no result in that span." },
);

export const ProbeDetail = Type.Composite([
  Type.Omit(ProbeView, []),
  Type.Object({
    description: Type.Union([Type.String(), Type.Null()]),
    dependsOn: Type.Array(Type.String()),
    intervalSeconds: Type.Number(),
    schedule: Type.Union([Type.String(), Type.Null()]),
    timeoutSeconds: Type.Number(),
    file: Type.String(),
    history: Type.Array(HistoryEntry, { description: 'Recent runs, newest first.' }),
    recentFailures: Type.Array(HistoryEntry, { description: 'Failures, kept longer than the history.' }),
    incidents: Type.Optional(Type.Array(IncidentView, { description: 'Its most recent incidents, newest first (all of them: GET /incidents?probe=).' })),
    availability: Type.Optional(AvailabilityView),
  }),
]);
export type ProbeDetail = Static<typeof ProbeDetail>;

/** One root cause of what is not ok (src/report/causes.ts says how probes are grouped). */
export const CauseView = Type.Object(
  {
    probe: Type.String({ description: 'The probe that leads the cause: of its members, the one most others wait on.' }),
    status: Type.Union([Type.Literal('failing'), Type.Literal('blocked')], { description: 'blocked: it could not be judged for a reason of its own (docker_unavailable).' }),
    reason: Type.String(),
    message: Type.String(),
    hint: Type.String({ description: "What to do: the leading probe's hint, or one for the whole group (several host names that do not resolve: the network)." }),
    severity: Severity,
    root: Type.Union([Type.String(), Type.Null()], {
      description:
        'What the members share: "dns" (names that do not resolve), "docker" (the Engine cannot be asked), "<reason>@<host:port>", "no_limit@compose-v1:<project>" (Compose v1 dropped the limits); null: a cause of one probe.',
    }),
    sameRoot: Type.Array(Type.String(), { description: 'The other probes that fail for the same reason at the same root.' }),
    blocks: Type.Array(Type.String(), { description: 'Every probe blocked behind the members, through any chain of dependsOn.' }),
    members: Type.Array(
      Type.Object({ probe: Type.String(), reason: Type.String(), message: Type.String(), blocks: Type.Array(Type.String(), { description: 'The probes blocked behind this member.' }) }),
    ),
    summary: Type.String({ description: 'One line: "prometheus-ready: cannot connect to ...: 9 probes wait on it".' }),
  },
  { $id: 'CauseView' },
);
export type CauseView = Static<typeof CauseView>;

export const StatusReport = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('failing')], {
    description: 'failing: a critical probe fails; degraded: only warning probes fail.',
  }),
  generatedAt: Type.String({ format: 'date-time' }),
  causes: Type.Array(CauseView, {
    description:
      'Root causes first: each failing probe that is not itself blocked (or blocked for its own reason), grouped with those failing for the same reason at the same root, with what waits on them; most urgent first. Empty when all is ok.',
  }),
  probes: Type.Array(ProbeView),
  discovery: Type.Optional(
    Type.Object(
      {
        status: Type.Union([Type.Literal('ok'), Type.Literal('stale'), Type.Literal('pending')], {
          description: 'stale: Docker could not be listed at the last attempt, and the probes found before are kept.',
        }),
        message: Type.String(),
        endpoint: Type.String(),
        lastSuccess: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
        lastAttempt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
        containers: Type.Number(),
        probes: Type.Array(Type.String()),
      },
      { description: 'Present when a probe file has a discover block.' },
    ),
  ),
  maintenance: Type.Optional(Type.Array(MaintenanceWindowView, { description: 'Open maintenance windows, soonest end first.' })),
});
export type StatusReport = Static<typeof StatusReport>;

// TypeBox checks no string format it was not told about (ajv has its own, for the server's validation):
// the views' times are RFC 3339 with an offset, as iso() writes them.
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (s) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)));

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

/**
 * A reply read back as the view it should be, or the first place where it is not ("/active/0/until:
 * Expected string"): what a client says when the daemon answers something unexpected.
 */
export function readView<T extends TSchema>(schema: T, value: unknown): { ok: true; value: Static<T> } | { ok: false; problem: string } {
  let check = compiled.get(schema);
  if (!check) compiled.set(schema, (check = TypeCompiler.Compile(schema)));
  if (check.Check(value)) return { ok: true, value: value as Static<T> };
  const first = check.Errors(value).First();
  return { ok: false, problem: first ? `${first.path || '/'}: ${first.message}` : 'does not match' };
}
