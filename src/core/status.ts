// The status words, once. A probe's run ends ok, failing or blocked; the engine adds pending for a
// probe with no result yet. The API schema, the metrics and the text views all take them from here.
import { Type, type Static } from '@sinclair/typebox';

/** What one run concluded. `blocked` means "could not be judged": not a failure of its own. */
export const OutcomeStatus = Type.Union([Type.Literal('ok'), Type.Literal('failing'), Type.Literal('blocked')]);
export type OutcomeStatus = Static<typeof OutcomeStatus>;

/** What people and alerts see for a probe: an outcome's status, or pending before the first run. */
export const ProbeStatus = Type.Union([...OutcomeStatus.anyOf, Type.Literal('pending')]);
export type ProbeStatus = Static<typeof ProbeStatus>;

export const probeStatuses: readonly ProbeStatus[] = ProbeStatus.anyOf.map((s) => s.const);

export const Severity = Type.Union([Type.Literal('critical'), Type.Literal('warning')]);
export type Severity = Static<typeof Severity>;
