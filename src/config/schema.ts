// The shape of a probe file. Kind-specific fields come from each prober; these are the engine's own.
import { Type, type TSchema } from '@sinclair/typebox';
import type { ValueError } from '@sinclair/typebox/value';
import { DockerEndpoint, Duration, HttpUrl, textLimits, Threshold } from '../core/fields.js';
import { Severity } from '../core/status.js';
import { closest } from '../util/text.js';
import { redactText } from '../util/url.js';

const labelKey = '^[A-Za-z_][A-Za-z0-9_.-]{0,62}$';
const probeName = '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$';

/** Fields every probe may have, whatever its kind. */
export const commonFields = {
  name: Type.String({ pattern: probeName, errorMessage: 'use lowercase letters, digits and "-" (at most 64, not starting or ending with "-")' }),
  kind: Type.String(),
  description: Type.Optional(Type.String({ maxLength: textLimits.description })),
  severity: Type.Optional(Severity),
  interval: Type.Optional(Duration),
  /** A node-cron expression instead of an interval, e.g. "*\/15 * * * * *". */
  schedule: Type.Optional(Type.String()),
  timeout: Type.Optional(Duration),
  dependsOn: Type.Optional(Type.Array(Type.String(), { uniqueItems: true })),
  failureThreshold: Type.Optional(Threshold),
  successThreshold: Type.Optional(Threshold),
  /** Extra next steps per reason, appended to the kind's own hint (the operator knows their stack). */
  /**
   * false leaves the probe out (checked, not run), e.g. `enabled: ${APP_IN_COMPOSE:-true}` for a container
   * that only exists in some setups; probes that depend on it then run without waiting for it.
   */
  enabled: Type.Optional(Type.Boolean()),
  hints: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z_]+$' }), Type.String({ maxLength: textLimits.hint }))),
  /** Free key: value pairs, e.g. team: db; maintenance windows select probes by them. */
  labels: Type.Optional(Type.Record(Type.String({ pattern: labelKey }), Type.String({ maxLength: 128 }), { errorMessage: 'expected a mapping of label: "value"' })),
};

export const Defaults = Type.Object(
  {
    interval: Type.Optional(Duration),
    timeout: Type.Optional(Duration),
    severity: Type.Optional(Severity),
    failureThreshold: Type.Optional(Threshold),
    successThreshold: Type.Optional(Threshold),
  },
  { additionalProperties: false },
);

export const Alerting = Type.Object(
  {
    alertmanager: Type.Optional(
      Type.Object(
        {
          /** One Alertmanager, or every node of a cluster (each gets every post, as Prometheus sends them). */
          url: Type.Union([HttpUrl, Type.Array(HttpUrl, { minItems: 1, uniqueItems: true })], {
            errorMessage: 'expected an http:// or https:// URL, or a list of different ones (every node of a cluster)',
          }),
          /** fallback: only while the guard probe (Prometheus) fails; always; off. */
          mode: Type.Optional(Type.Union([Type.Literal('fallback'), Type.Literal('always'), Type.Literal('off')])),
          /** The probe whose failure means Prometheus is down (fallback mode); the single form of guardProbes. */
          guardProbe: Type.Optional(Type.String()),
          /** The probes whose failure means alerts through Prometheus reach nobody (fallback mode): any one failing engages the direct path. */
          guardProbes: Type.Optional(Type.Array(Type.String(), { minItems: 1, uniqueItems: true })),
          /** How long an alert stays valid without renewal (endsAt = now + this). */
          resolveTimeout: Type.Optional(Duration),
        },
        { additionalProperties: false },
      ),
    ),
    heartbeat: Type.Optional(
      Type.Object(
        {
          url: HttpUrl,
          method: Type.Optional(Type.Union([Type.Literal('GET'), Type.Literal('POST')])),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Probes for the containers found by label, one container_state probe each (see src/discovery/). */
export const Discover = Type.Object(
  {
    /** How often the container list is read. Default 30s. */
    interval: Type.Optional(Duration),
    /** Labels a container must all carry. Default: com.docker.compose.project: ${COMPOSE_PROJECT:-mystocks}. */
    labels: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String(), { errorMessage: 'expected a mapping of label: "value"' })),
    /** A container with this label=value is left out. Default stack-watchdog.ignore=true. */
    ignoreLabel: Type.Optional(Type.String({ pattern: '^[^=\\s]+=[^\\s]*$', errorMessage: 'expected label=value, e.g. "stack-watchdog.ignore=true"' })),
    /** Compose services or container names to leave out. */
    ignore: Type.Optional(Type.Array(Type.String(), { uniqueItems: true })),
    /** The Docker Engine to list and inspect, when it is not DOCKER_HOST's. */
    docker: Type.Optional(DockerEndpoint),
    /** A short name for that Engine's host: probes are then named container-<host>-<service>. */
    host: Type.Optional(Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$', errorMessage: 'expected a short host name: lowercase letters, digits and "-"' })),
    /** The discovered probes' fields: the common ones and container_state's (not name, kind or container). */
    probe: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { errorMessage: 'expected a mapping of probe fields' })),
  },
  { additionalProperties: false },
);

/** Which probes a maintenance window covers: any probe named, of a kind listed, or carrying all the labels; nothing given = every probe. */
export const MaintenanceSelector = {
  probes: Type.Optional(Type.Array(Type.String({ pattern: probeName }), { uniqueItems: true, maxItems: 500 })),
  kinds: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z_]{1,64}$' }), { uniqueItems: true, maxItems: 50 })),
  labels: Type.Optional(Type.Record(Type.String({ pattern: labelKey }), Type.String({ maxLength: 128 }), { errorMessage: 'expected a mapping of label: "value"' })),
};

export const MaintenanceWindow = Type.Object(
  {
    name: Type.String({ pattern: probeName, errorMessage: 'use lowercase letters, digits and "-"' }),
    reason: Type.String({ minLength: 1, maxLength: textLimits.description }),
    /** Recurring: a 5-field node-cron expression for the start, e.g. "0 2 * * 0" (Sundays 02:00). */
    cron: Type.Optional(Type.String()),
    /** An IANA zone the cron expression is read in, e.g. Europe/Berlin. Default UTC. */
    timezone: Type.Optional(Type.String()),
    /** One-off: an RFC 3339 time with its offset, e.g. 2026-12-05T10:00:00Z. */
    start: Type.Optional(Type.String()),
    end: Type.Optional(Type.String()),
    duration: Type.Optional(Duration),
    ...MaintenanceSelector,
  },
  { additionalProperties: false },
);

export const Maintenance = Type.Object(
  {
    /** Also create an Alertmanager silence (at alerting.alertmanager.url) for each window while it is active. */
    silence: Type.Optional(Type.Boolean()),
    /** The longest window POST /maintenance accepts. Default 24h; at most 168h. */
    maxDuration: Type.Optional(Duration),
    windows: Type.Optional(Type.Array(MaintenanceWindow, { maxItems: 200 })),
  },
  { additionalProperties: false },
);

export const FileShape = Type.Object(
  {
    defaults: Type.Optional(Defaults),
    probes: Type.Array(Type.Any()),
    alerting: Type.Optional(Alerting),
    discover: Type.Optional(Discover),
    maintenance: Type.Optional(Maintenance),
  },
  { additionalProperties: false },
);

/** `/assertions/0/path` → `assertions[0].path` */
export function fieldPath(pointer: string | (string | number)[]): string {
  const parts = Array.isArray(pointer)
    ? pointer
    : pointer
        .split('/')
        .filter(Boolean)
        .map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, '/').replace(/~0/g, '~')));
  return parts.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** One readable sentence for a TypeBox error. */
export function describeError(e: ValueError): string {
  const custom = (e.schema as TSchema & { errorMessage?: string }).errorMessage;
  const got = describeValue(e.value);
  if (e.message === 'Unexpected property') {
    const allowed = Object.keys((e.schema.properties ?? {}) as Record<string, unknown>);
    const key = e.path.split('/').pop() ?? '';
    const guess = closest(key, allowed);
    if (guess) return `unknown field; did you mean "${guess}"?`;
    return allowed.length ? `unknown field (allowed: ${allowed.join(', ')})` : 'unknown field';
  }
  if (e.message === 'Expected required property') return 'required field is missing';
  // Said without the value: quoting 20 MB of it back is what the cap is there to prevent.
  if (typeof e.schema.maxLength === 'number' && typeof e.value === 'string' && e.value.length > e.schema.maxLength) {
    return `is ${e.value.length} characters long, over the ${e.schema.maxLength} limit`;
  }
  if (custom) return `${custom}, got ${got}`;
  const literals = literalChoices(e.schema);
  if (literals) return `must be one of ${literals.map((l) => JSON.stringify(l)).join(', ')}, got ${got}`;
  if (e.schema.pattern && typeof e.value === 'string') return `${got} does not match ${e.schema.pattern}`;
  return `${e.message.replace(/^Expected/, 'expected')}, got ${got}`;
}

function literalChoices(schema: TSchema): unknown[] | undefined {
  const any = (schema as { anyOf?: TSchema[] }).anyOf;
  if (!any || !any.every((s) => 'const' in s)) return undefined;
  return any.map((s) => (s as unknown as { const: unknown }).const);
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  // A refused URL is echoed without its credentials: this text reaches logs and terminals.
  const text = redactText(JSON.stringify(v));
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
