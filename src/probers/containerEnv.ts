// kind: container_env — the container's configured environment (docker inspect's Config.Env) holds the
// expected KEY=value pairs. Inspect answers what `docker exec ... env` would, without a shell in the
// container. Environments hold passwords: only the expected keys' values are ever read out of the
// answer, and values of keys that look secret are not shown even then.
import { Type } from '@sinclair/typebox';
import { defineProber } from './define.js';
import { failed, passed } from './common.js';
import { ContainerName, decodeDockerEndpoint, DockerEndpoint, inspectOnEngine } from './docker.js';

/** Expected keys whose values stay out of messages and /status, even though the operator named them. */
const SECRET_LOOKING = /PASS|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH/i;
const HIDDEN = '(hidden)';

export const containerEnvProber = defineProber({
  fields: Type.Object({
    container: ContainerName,
    /** This probe's Docker Engine, when it is not DOCKER_HOST's. */
    docker: Type.Optional(DockerEndpoint),
    /** KEY: value pairs the environment must hold. */
    expect: Type.Record(
      Type.String(),
      // YAML reads `ARG: 0.1` as a number: say how to keep the text as written.
      Type.String({ errorMessage: 'expected a string: quote the value (e.g. "0.1") so YAML keeps it as written' }),
      { minProperties: 1, errorMessage: 'expected a mapping of VARIABLE: "value" with at least one entry' },
    ),
  }),
  decode(f, d) {
    for (const bad of Object.keys(f.expect).filter((k) => !/^[^=\s]+$/.test(k))) d.problem('expect', `${JSON.stringify(bad)} is not a variable name (no "=" or spaces)`);
    return { container: f.container, expect: f.expect, docker: decodeDockerEndpoint(d, 'docker', f.docker) };
  },
  async run(spec, runCtx) {
    const name = spec.container;
    const inspected = await inspectOnEngine(runCtx, spec.docker, name);
    if (!inspected.ok) return inspected.outcome;
    const { info } = inspected.value;
    const actual = pickEnv(info.Config.Env ?? [], new Set(Object.keys(spec.expect)));

    const shown = (key: string, v: string | undefined) => (v === undefined ? undefined : SECRET_LOOKING.test(key) ? HIDDEN : v);
    const mismatched = Object.keys(spec.expect).filter((k) => actual.get(k) !== spec.expect[k]);
    const details = {
      container: name,
      expected: Object.fromEntries(Object.entries(spec.expect).map(([k, v]) => [k, shown(k, v)])),
      // null: unset. Only the expected keys, never the rest of the environment.
      actual: Object.fromEntries(Object.keys(spec.expect).map((k) => [k, shown(k, actual.get(k)) ?? null])),
      mismatched,
    };
    if (mismatched.length === 0) {
      return passed(`"${name}" has the ${Object.keys(spec.expect).length} expected variable(s)`, { value: 0, details });
    }
    const describe = (k: string) => {
      const a = actual.get(k);
      const now = a === undefined ? 'unset' : SECRET_LOOKING.test(k) ? 'set to another value' : JSON.stringify(a);
      return `${k} is ${now}, expected ${SECRET_LOOKING.test(k) ? 'the configured value' : JSON.stringify(spec.expect[k])}`;
    };
    const otel = mismatched.some((k) => k.startsWith('OTEL_')) ? "The OTEL_* sampler variables are read by the application's OpenTelemetry SDK, not by Tempo: they belong to the app service. " : '';
    return failed(
      'env_mismatch',
      `${mismatched.length} of ${Object.keys(spec.expect).length} variable(s) differ in "${name}": ${mismatched.map(describe).join('; ')}`,
      `${otel}Set them in the environment: (or env_file:) of the compose service that runs "${name}", then recreate the container with docker compose up -d <service>: a restart does not re-read the environment, which is fixed when the container is created.`,
      { value: mismatched.length, details },
    );
  },
});

/**
 * The values of the wanted keys only; other entries are skipped before their value is split off,
 * so the rest of the environment never reaches a string this module keeps. A later entry wins, as
 * in the process's environment. An entry without "=" is a name with no value: unset.
 */
function pickEnv(env: string[], wanted: Set<string>): Map<string, string> {
  const found = new Map<string, string>();
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq < 0) continue;
    const key = entry.slice(0, eq);
    if (wanted.has(key)) found.set(key, entry.slice(eq + 1));
  }
  return found;
}
