// kind: container_env — the app's environment holds the expected KEY=value pairs, read from the
// container's configured environment (docker inspect's Config.Env: what `docker exec ... env` would
// show, without a shell in the container), from an env file (the app's .env, mounted read-only into
// the watchdog), or both. An app that runs on the host, as the MyStocks backend does, has no
// container: its env file is the source, and the container may then be absent. Environments hold
// passwords: only the expected keys' values are ever read out, and values of keys that look secret
// are not shown even then.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { Type } from '@sinclair/typebox';
import { formatBytes } from '../util/format.js';
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
    env_file_unreadable: 'Check the path and its permissions from inside the watchdog (docker exec mystocks-watchdog ls -l <path>).',
  },
  decode(f, d) {
    for (const bad of Object.keys(f.expect).filter((k) => !/^[^=\s]+$/.test(k))) d.problem('expect', `${JSON.stringify(bad)} is not a variable name (no "=" or spaces)`);
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
    if (mismatched.length === 0) {
      const where = sources.map((s) => s.label).join(' and ');
      const absent = containerAbsent ? ` (no container "${spec.container}": the app runs outside Docker, so the env file is its source)` : '';
      return passed(`${where} ${sources.length > 1 ? 'have' : 'has'} the ${keys.length} expected variable(s)${absent}`, { value: 0, details });
    }
    const describe = (s: Source, k: string) => {
      const a = s.actual.get(k);
      const now = a === undefined ? 'unset' : SECRET_LOOKING.test(k) ? 'set to another value' : JSON.stringify(a);
      return `${k} is ${now}, expected ${SECRET_LOOKING.test(k) ? 'the configured value' : JSON.stringify(spec.expect[k])}`;
    };
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
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO someone pointed envFile at must not wait for a writer.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    const why: Record<string, string> = { ENOENT: 'no such file', ENOTDIR: 'a part of the path is not a directory', EACCES: 'permission denied', EPERM: 'permission denied' };
    return unreadable(code, `${why[code] ?? (err as Error).message} (${code})`);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) return unreadable('EISDIR', 'it is a directory (EISDIR)');
    if (!st.isFile()) return unreadable('not_regular', 'it is not a regular file');
    if (st.size > MAX_ENV_FILE_BYTES) return unreadable('too_large', `it holds ${st.size} bytes, more than ${formatBytes(MAX_ENV_FILE_BYTES)} (an env file is a few KiB)`);
    const text = await handle.readFile({ encoding: 'utf8' });
    return success(pickDotenv(text, wanted));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    return unreadable(code, `${(err as Error).message.replace(/^[A-Z]+: /, '')} (${code})`);
  } finally {
    await handle.close();
  }
}
