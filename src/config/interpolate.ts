// ${VAR} and ${VAR:-default} in probe files, resolved against the environment handed in
// (never process.env directly: tests and the CLI pass their own).
import { parse as parseYamlScalar } from 'yaml';

export type Env = Readonly<Record<string, string | undefined>>;

const ref = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export class UnsetVariableError extends Error {
  constructor(readonly variable: string) {
    super(`environment variable ${variable} is not set and has no default`);
  }
}

/** Expands one string. A value that is a single ${...} is re-read as YAML, so `${RETRIES:-3}` is a number. */
export function expandString(text: string, env: Env): unknown {
  const whole = /^\$\{[^}]+\}$/.test(text);
  const out = text.replace(ref, (_, name: string, fallback: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    throw new UnsetVariableError(name);
  });
  if (!whole) return out;
  try {
    const scalar: unknown = parseYamlScalar(out);
    return typeof scalar === 'number' || typeof scalar === 'boolean' ? scalar : out;
  } catch {
    return out;
  }
}

/** Walks a parsed document; `onError(path, err)` is told of each unset variable with its field path. */
export function expandTree(node: unknown, env: Env, path: (string | number)[], onError: (path: (string | number)[], err: UnsetVariableError) => void): unknown {
  if (typeof node === 'string') {
    try {
      return expandString(node, env);
    } catch (err) {
      if (err instanceof UnsetVariableError) {
        onError(path, err);
        return node;
      }
      throw err;
    }
  }
  if (Array.isArray(node)) return node.map((v, i) => expandTree(v, env, [...path, i], onError));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, expandTree(v, env, [...path, k], onError)]));
  }
  return node;
}
