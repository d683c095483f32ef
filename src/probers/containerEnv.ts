// kind: container_env — the app's environment holds the expected KEY=value pairs, read from the
// container's configured environment (docker inspect's Config.Env: what `docker exec ... env` would
// show, without a shell in the container), from an env file (the app's .env, mounted read-only into
// the watchdog), or both. An app that runs on the host, as the MyStocks backend does, has no
// container: its env file is the source, and the container may then be absent. Environments hold
// passwords: only the expected keys' values are ever read out, and values of keys that look secret
// are not shown even then.
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { Type } from '@sinclair/typebox';
import { readSmallFile } from '../util/files.js';
import { levenshtein } from '../util/text.js';
import { defineProber } from './define.js';
import type { Attempt } from './types.js';
import { failed, failure, passed, success } from './common.js';
import { ContainerName, decodeDockerEndpoint, DockerEndpoint, dockerReasons, inspectOnEngine } from './docker.js';

/** Expected keys whose values stay out of messages and /status, even though the operator named them. */
const SECRET_LOOKING = /PASS|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH/i;
const HIDDEN = '(hidden)';
/** An env file is a few KiB; anything this large is the wrong file, and is not read into memory. */
const MAX_ENV_FILE_BYTES = 1024 * 1024;

export const containerEnvProber = defineProber({
  fields: Type.Object({
    /** The app's container; with envFile it may be absent (the app runs on the host). */
    container: Type.Optional(ContainerName),
    /**
     * The app's env file (dotenv syntax), as the watchdog sees it: mounted read-only, e.g. /app/app.env.
     * A relative path is taken from the working directory. Empty means none, so a profile can leave it
     * to an environment variable (`envFile: ${APP_ENV_FILE:-}`).
     */
    envFile: Type.Optional(Type.String()),
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
  reasons: {
    ...dockerReasons,
    env_mismatch:
      "Set the expected values where the app reads them: the environment: (or env_file:) of its compose service, then recreate it (docker compose up -d <service>); or the app's .env on the host, then restart the app. The OTEL_* sampler variables belong to the app, not to Tempo.",
    env_invalid:
      'A value the OpenTelemetry SDK does not accept: an OTEL_TRACES_SAMPLER outside its list is ignored with a warning at start and the SDK falls back to parentbased_always_on (every trace sampled, 100%); an OTEL_TRACES_SAMPLER_ARG that is not a number is ignored, and a ratio sampler then samples everything (1.0). Set the nearest valid value, then restart the app.',
    env_file_unreadable: 'Check the path and its permissions from inside the watchdog (docker exec mystocks-watchdog ls -l <path>).',
  },
  decode(f, d) {
    for (const bad of Object.keys(f.expect).filter((k) => !/^[^=\s]+$/.test(k))) d.problem('expect', `${JSON.stringify(bad)} is not a variable name (no "=" or spaces)`);
    // An expectation the SDK itself would ignore (copied from a guide with a misspelt sampler) could never be right.
    for (const p of samplerProblems(new Map(Object.entries(f.expect)))) d.problem(`expect.${p.key}`, `${p.problem}: expect ${p.fix}`);
    const envFile = f.envFile?.trim() ? resolve(f.envFile.trim()) : undefined;
    if (f.container === undefined && envFile === undefined) {
      d.problem('container', "give container (the app's container), envFile (the app's .env as mounted into the watchdog), or both");
    }
    return { container: f.container, envFile, expect: f.expect, docker: decodeDockerEndpoint(d, 'docker', f.docker) };
  },
  async run(spec, runCtx) {
    const keys = Object.keys(spec.expect);
    const wanted = new Set(keys);
    const sources: Source[] = [];

    // The file first: it needs no Docker, and when it cannot be read nothing else decides.
    if (spec.envFile !== undefined) {
      const read = await readEnvFile(spec.envFile, wanted, spec.name);
      if (!read.ok) return read.outcome;
      sources.push({ kind: 'file', label: spec.envFile, actual: read.value });
    }
    let containerAbsent = false;
    if (spec.container !== undefined) {
      const inspected = await inspectOnEngine(runCtx, spec.docker, spec.container);
      if (inspected.ok) {
        sources.push({ kind: 'container', label: `"${spec.container}"`, actual: pickEnv(inspected.value.info.Config.Env ?? [], wanted) });
      } else if (inspected.outcome.reason === 'not_found' && spec.envFile !== undefined) {
        // An app on the host has no container: its env file is what it reads.
        containerAbsent = true;
      } else if (inspected.outcome.reason === 'not_found') {
        const o = inspected.outcome;
        return {
          ...o,
          hint: `${o.hint ?? ''} If the app runs on the host rather than in a container, give this probe envFile: the app's .env mounted read-only (APP_ENV_FILE in probes/mystocks.yaml).`.trim(),
        };
      } else {
        return inspected.outcome;
      }
    }

    const shown = (key: string, v: string | undefined) => (v === undefined ? undefined : SECRET_LOOKING.test(key) ? HIDDEN : v);
    const values = (actual: Map<string, string>) => Object.fromEntries(keys.map((k) => [k, shown(k, actual.get(k)) ?? null]));
    const differing = (s: Source) => keys.filter((k) => s.actual.get(k) !== spec.expect[k]);
    const file = sources.find((s) => s.kind === 'file');
    const box = sources.find((s) => s.kind === 'container');
    const mismatched = keys.filter((k) => sources.some((s) => s.actual.get(k) !== spec.expect[k]));
    const details = {
      ...(spec.container !== undefined ? { container: spec.container } : {}),
      ...(spec.envFile !== undefined ? { envFile: spec.envFile } : {}),
      ...(containerAbsent ? { containerAbsent: true } : {}),
      expected: Object.fromEntries(Object.entries(spec.expect).map(([k, v]) => [k, shown(k, v)])),
      // null: unset. Only the expected keys, never the rest of the environment or the file.
      ...(box ? { actual: values(box.actual) } : {}),
      ...(file ? { envFileActual: values(file.actual) } : {}),
      mismatched,
    };
    const describe = (s: Source, k: string) => {
      const a = s.actual.get(k);
      const now = a === undefined ? 'unset' : SECRET_LOOKING.test(k) ? 'set to another value' : JSON.stringify(a);
      return `${k} is ${now}, expected ${SECRET_LOOKING.test(k) ? 'the configured value' : JSON.stringify(spec.expect[k])}`;
    };
    // Before env_mismatch: an invalid value is usually also a mismatch, but only this names the cause
    // (the SDK ignores it and samples everything) and the exact fix; and it holds even when the
    // expectation matches the actual value, or another variable differs too.
    const invalid = sources.flatMap((s) => samplerProblems(s.actual).map((p) => ({ ...p, where: s })));
    if (invalid.length) {
      const also = mismatched.filter((k) => !invalid.some((p) => p.key === k));
      const message =
        invalid.map((p) => `${p.problem} in ${p.where.label}`).join('; ') +
        (also.length
          ? `. Also differing: ${also
              .map((k) =>
                describe(
                  sources.find((s) => s.actual.get(k) !== spec.expect[k])!,
                  k,
                ),
              )
              .join('; ')}`
          : '');
      const fixes = invalid.map(
        (p) =>
          `Set ${p.fix} in ${p.where.kind === 'container' ? `the environment of the compose service that runs "${spec.container}" and recreate it (docker compose up -d <service>)` : `${p.where.label} and restart the app`}.`,
      );
      return failed('env_invalid', message, `${fixes.join(' ')} Until then ${invalid.map((p) => p.effect).join('; ')}.`, {
        value: invalid.length,
        details: { ...details, invalid: invalid.map((p) => ({ key: p.key, source: p.where.label, nearest: p.nearest })) },
      });
    }
    if (mismatched.length === 0) {
      const where = sources.map((s) => s.label).join(' and ');
      const absent = containerAbsent ? ` (no container "${spec.container}": the app runs outside Docker, so the env file is its source)` : '';
      return passed(`${where} ${sources.length > 1 ? 'have' : 'has'} the ${keys.length} expected variable(s)${absent}`, { value: 0, details });
    }
    const parts = sources.filter((s) => differing(s).length > 0);
    const message = parts
      .map(
        (s) =>
          `${differing(s).length} of ${keys.length} variable(s) differ in ${s.label}: ${differing(s)
            .map((k) => describe(s, k))
            .join('; ')}`,
      )
      .join('. ');
    const otel = mismatched.some((k) => k.startsWith('OTEL_'))
      ? `The OTEL_* sampler variables are read by the application's OpenTelemetry SDK, not by Tempo: they belong to the app${file ? '' : ' service'}. `
      : '';
    const steps = parts.map((s) =>
      s.kind === 'container'
        ? `Set them in the environment: (or env_file:) of the compose service that runs "${spec.container}", then recreate the container with docker compose up -d <service>: a restart does not re-read the environment, which is fixed when the container is created.`
        : `Set them in ${s.label} (the app's .env, on the host where the app runs), then restart the app: it reads the file once, at start. A variable exported in the app's own process environment (its shell, a systemd Environment=) usually wins over the file and is not visible here; sampling-ratio measures the ratio actually applied.`,
    );
    return failed('env_mismatch', message, otel + steps.join(' '), { value: mismatched.length, details });
  },
});

/**
 * OTEL_TRACES_SAMPLER's values in the OpenTelemetry specification (SDK environment variables). An SDK
 * MUST warn about any other value and ignore it: the default parentbased_always_on then applies.
 */
export const OTEL_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
  'parentbased_jaeger_remote',
  'jaeger_remote',
  'xray',
] as const;
/** The samplers whose OTEL_TRACES_SAMPLER_ARG is a probability. */
const RATIO_SAMPLERS = new Set(['traceidratio', 'parentbased_traceidratio']);

interface SamplerProblem {
  key: 'OTEL_TRACES_SAMPLER' | 'OTEL_TRACES_SAMPLER_ARG';
  /** What is wrong, quoting the value. */
  problem: string;
  /** KEY=value to set instead. */
  fix: string;
  nearest: string;
  /** What the SDK does with it. */
  effect: string;
}

/**
 * The sampler variables among `env` that the SDK would not accept. The argument is judged only beside
 * a ratio sampler (jaeger_remote's is a list of key=value pairs), and only when the sampler is among the
 * variables read: nothing else of the environment is read to find it.
 */
export function samplerProblems(env: ReadonlyMap<string, string>): SamplerProblem[] {
  const out: SamplerProblem[] = [];
  const sampler = env.get('OTEL_TRACES_SAMPLER')?.trim();
  // Empty is unset, per the specification; the Python SDK (the MyStocks backend's) lowercases the name before comparing.
  if (sampler && !(OTEL_SAMPLERS as readonly string[]).includes(sampler.toLowerCase())) {
    const nearest = [...OTEL_SAMPLERS].sort((a, b) => levenshtein(sampler.toLowerCase(), a) - levenshtein(sampler.toLowerCase(), b))[0]!;
    out.push({
      key: 'OTEL_TRACES_SAMPLER',
      problem: `OTEL_TRACES_SAMPLER=${JSON.stringify(sampler)} is not a sampler of the OpenTelemetry SDK (nearest: ${nearest})`,
      fix: `OTEL_TRACES_SAMPLER=${nearest}`,
      nearest,
      effect: `the SDK logs a warning at start, ignores OTEL_TRACES_SAMPLER=${JSON.stringify(sampler)} and uses its default parentbased_always_on: every trace is sampled (100%), whatever OTEL_TRACES_SAMPLER_ARG says`,
    });
  }
  const arg = env.get('OTEL_TRACES_SAMPLER_ARG');
  if (sampler && RATIO_SAMPLERS.has(sampler.toLowerCase()) && arg !== undefined && arg.trim() !== '') {
    const n = Number(arg.trim());
    const number = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(arg.trim());
    if (!number || n < 0 || n > 1) {
      const nearest = number ? String(Math.min(1, Math.max(0, n))) : '0.1';
      out.push({
        key: 'OTEL_TRACES_SAMPLER_ARG',
        problem: `OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(arg)} is not a probability (a number in [0, 1], e.g. "0.1") for ${sampler}`,
        fix: `OTEL_TRACES_SAMPLER_ARG=${nearest}`,
        nearest,
        effect: number
          ? `SDKs differ on a ratio outside [0, 1]: some clamp it (to ${nearest}); the Python SDK (the MyStocks backend's) raises ValueError when the sampler is built, so tracing does not start`
          : `the SDK logs a warning, ignores OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(arg)} and samples with ratio 1.0: every trace (100%)`,
      });
    }
  }
  return out;
}

interface Source {
  kind: 'file' | 'container';
  /** How messages name it: the file's path, or the container's name in quotes. */
  label: string;
  actual: Map<string, string>;
}

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

/**
 * The wanted keys of a dotenv file: comments, `export `, single, double and back quotes, and
 * multi-line quoted values, as Node's own parser (util.parseEnv, what `node --env-file` uses) reads
 * them. A line-by-line reader would take the lines of another key's quoted multi-line value (a PEM
 * key) for entries of their own. The parsed object lives only in this function: the other keys'
 * values are never returned, logged or shown.
 */
export function pickDotenv(text: string, wanted: Set<string>): Map<string, string> {
  const parsed = parseEnv(text);
  const found = new Map<string, string>();
  for (const key of wanted) {
    const v = Object.hasOwn(parsed, key) ? parsed[key] : undefined;
    if (v !== undefined) found.set(key, v);
  }
  return found;
}

const fileHints: Record<string, string> = {
  ENOENT:
    "Mount the app's .env into the watchdog read-only (docker-compose.override.yml: volumes: - /path/to/the/app/.env:/app/app.env:ro) and set APP_ENV_FILE to the path inside the container; or unset APP_ENV_FILE when the app runs in a container (APP_CONTAINER) and has no env file.",
  EISDIR:
    "The path is a directory: when a bind mount's host file does not exist, Docker creates an empty directory in its place. Fix the host path in the volumes: entry, remove that directory on the host, and recreate the watchdog (docker compose up -d watchdog).",
  EACCES:
    "The watchdog runs as the unprivileged user node (uid 1000) and may not read the file: give it read access (e.g. chgrp a group of yours and chmod 640, then group_add: that group id in the watchdog's service) rather than making a file with secrets world-readable.",
  not_regular: "The path is not a regular file (a device, a socket or a pipe): point envFile / APP_ENV_FILE at the app's .env itself.",
  too_large: "This is not an env file: point envFile / APP_ENV_FILE at the app's .env.",
};
fileHints.ENOTDIR = fileHints.ENOENT!;
fileHints.EPERM = fileHints.EACCES!;

/** The wanted keys of the env file, or `env_file_unreadable` naming the file, the probe and the cause. */
async function readEnvFile(path: string, wanted: Set<string>, probe: string): Promise<Attempt<Map<string, string>, 'env_file_unreadable'>> {
  const unreadable = (code: string, why: string): Attempt<Map<string, string>, 'env_file_unreadable'> =>
    failure(
      failed('env_file_unreadable', `probe "${probe}" cannot read the env file ${path}: ${why}`, fileHints[code], {
        value: null,
        details: { envFile: path, cause: code },
      }),
    );
  const read = await readSmallFile(path, MAX_ENV_FILE_BYTES, 'an env file is a few KiB');
  return read.ok ? success(pickDotenv(read.text, wanted)) : unreadable(read.code, read.why);
}
