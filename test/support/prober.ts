// Runs one probe kind once, directly: the kind's fields are bound through the registry (the kind's
// own decode and check) and the run goes through the runner's hard deadline. Neither the config
// loader nor the engine is involved, so a regression there does not fail every prober test; the
// loader and the engine have tests of their own.
import { pino } from 'pino';
import { parseDuration } from '../../src/core/fields.js';
import { runProbe, type RunDeps } from '../../src/engine/runner.js';
import type { MemoryCell, ProbeResult } from '../../src/engine/result.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { proberFor } from '../../src/probers/index.js';
import type { CommonSpec, ProbeSpec } from '../../src/probers/types.js';

/** Common fields a test may give beside the kind's own; everything else must be one of the kind's fields. */
const commonKeys = new Set(['name', 'kind', 'timeout', 'hints', 'severity', 'description']);

/** The kind's spec as the engine would hold it, or an Error that lists every problem the kind found. */
export function bindProber(kind: string, probe: Record<string, unknown>): ProbeSpec {
  const prober = proberFor(kind);
  if (!prober) throw new Error(`no kind "${kind}"`);
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(probe)) {
    if (Object.hasOwn(prober.fields.properties, key)) fields[key] = value;
    else if (!commonKeys.has(key)) throw new Error(`runProber: "${key}" is not a field of kind ${kind}`);
  }
  const timeout = typeof probe.timeout === 'string' ? probe.timeout : (prober.defaults.timeout ?? '5s');
  const timeoutMs = parseDuration(timeout);
  if (!timeoutMs.ok) throw new Error(`runProber: timeout: ${timeoutMs.problem}`);
  const common: CommonSpec = {
    name: typeof probe.name === 'string' ? probe.name : kind.replace(/_/g, '-'),
    kind,
    severity: probe.severity === 'warning' ? 'warning' : 'critical',
    intervalMs: Math.max(30_000, timeoutMs.value * 2),
    timeoutMs: timeoutMs.value,
    dependsOn: [],
    failureThreshold: 1,
    successThreshold: 1,
    hints: probe.hints as Record<string, string> | undefined,
    file: 'test',
  };
  const bound = prober.bind(fields, common);
  if (!bound.ok) throw new Error(`kind ${kind} refused the fields: ${bound.problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  return bound.spec;
}

/**
 * One run of `kind` with `probe`'s fields against real local servers. Clients not handed in are
 * made for the run and closed after it.
 */
export async function runProber(kind: string, probe: Record<string, unknown>, deps: Partial<RunDeps> & { dockerHost?: string; memory?: MemoryCell } = {}): Promise<ProbeResult> {
  const spec = bindProber(kind, probe);
  const http = deps.http ?? createHttpClient({ userAgent: 'stack-watchdog-test' });
  try {
    return await runProbe(
      spec,
      {
        http,
        docker: deps.docker ?? createDockerClient({ dockerHost: deps.dockerHost }),
        logger: deps.logger ?? pino({ level: 'silent' }),
        now: deps.now ?? Date.now,
        stopSignal: deps.stopSignal,
      },
      deps.memory,
    );
  } finally {
    if (!deps.http) await http.close();
  }
}
