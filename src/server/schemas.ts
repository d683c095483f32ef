// The API's shapes, once: TypeBox values give request validation, response serialisation,
// the TypeScript types and the OpenAPI document.
import { Type, type Static } from '@sinclair/typebox';

export const Status = Type.Union([Type.Literal('ok'), Type.Literal('failing'), Type.Literal('blocked'), Type.Literal('pending')]);

export const ProbeView = Type.Object(
  {
    name: Type.String(),
    kind: Type.String(),
    severity: Type.Union([Type.Literal('critical'), Type.Literal('warning')]),
    status: Status,
    reason: Type.String({ description: 'A short fixed word: ok, timeout, connect, http_status, absent, threshold, dependency_failed, ...' }),
    message: Type.String({ description: 'What happened, for people.' }),
    hint: Type.Union([Type.String(), Type.Null()], { description: 'What to do next, when the probe is not ok.' }),
    value: Type.Union([Type.Number(), Type.Null()], { description: 'The measured number of the last run.' }),
    since: Type.String({ format: 'date-time', description: 'When the current status began.' }),
    lastRun: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    durationMs: Type.Union([Type.Number(), Type.Null()]),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { $id: 'ProbeView' },
);
export type ProbeView = Static<typeof ProbeView>;

export const HistoryEntry = Type.Object({
  at: Type.String({ format: 'date-time' }),
  status: Status,
  reason: Type.String(),
  message: Type.String(),
  value: Type.Union([Type.Number(), Type.Null()]),
  durationMs: Type.Number(),
});

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
  }),
]);
export type ProbeDetail = Static<typeof ProbeDetail>;

export const StatusReport = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('failing')], {
    description: 'failing: a critical probe fails; degraded: only warning probes fail.',
  }),
  generatedAt: Type.String({ format: 'date-time' }),
  probes: Type.Array(ProbeView),
});
export type StatusReport = Static<typeof StatusReport>;

export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
});

export const FormatQuery = Type.Object(
  { format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('text')])) },
  { additionalProperties: false },
);

export const ProbeParams = Type.Object({ probe: Type.String({ pattern: '^[a-z0-9-]{1,64}$' }) });

export const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  detail: Type.String(),
  pending: Type.Optional(Type.Array(Type.String())),
});
