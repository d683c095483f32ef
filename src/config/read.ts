// Reading the probe files: which files a path names, the size cap (checked before a byte is read),
// and the content hash the reload poll compares. Nothing here parses YAML: build.ts does that.
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { formatBytes } from '../util/format.js';
import { ConfigError } from './error.js';
import { defaultConfigLimits, type ConfigLimits } from './limits.js';

/** One file's text, named as messages name it. */
export interface Source {
  file: string;
  text: string;
}

/** The YAML files behind a path: the file itself, or a folder's *.yaml / *.yml in name order. */
export async function configFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ConfigError([`${path}: no such file or folder`]);
  }
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.')).sort();
  if (!names.length) throw new ConfigError([`${path}: the folder holds no *.yaml file`]);
  return names.map((n) => join(path, n));
}

/** The files behind `path`, read within the size cap, and their content hash. */
export async function readSources(path: string, limits: ConfigLimits = defaultConfigLimits): Promise<{ sources: Source[]; hash: string }> {
  const files = await configFiles(path);
  // Sizes first, from the file system: a file over the cap is refused before a byte is read or parsed.
  let total = 0;
  for (const f of files) {
    let size: number;
    try {
      size = (await stat(f)).size;
    } catch (err) {
      throw new ConfigError([`${displayName(f)}: cannot read: ${(err as Error).message}`]);
    }
    total += size;
    if (size > limits.maxBytes)
      throw new ConfigError([`${displayName(f)}: the file is ${formatBytes(size)}, over the ${formatBytes(limits.maxBytes)} limit (WATCHDOG_CONFIG_MAX_BYTES); refused before parsing`]);
    if (total > limits.maxBytes)
      throw new ConfigError([`${displayName(path)}: the files hold ${formatBytes(total)} or more, over the ${formatBytes(limits.maxBytes)} limit (WATCHDOG_CONFIG_MAX_BYTES); refused before parsing`]);
  }
  const sources = await Promise.all(
    files.map(async (f) => {
      let text: string;
      try {
        text = await readFile(f, 'utf8');
      } catch (err) {
        throw new ConfigError([`${displayName(f)}: cannot read: ${(err as Error).message}`]);
      }
      // The file may have grown between stat and read.
      if (Buffer.byteLength(text) > limits.maxBytes) throw new ConfigError([`${displayName(f)}: the file is over the ${formatBytes(limits.maxBytes)} limit (WATCHDOG_CONFIG_MAX_BYTES)`]);
      return { file: displayName(f), text };
    }),
  );
  return { sources, hash: hashSources(sources) };
}

function hashSources(sources: Source[]): string {
  const h = createHash('sha256');
  for (const { file, text } of sources) h.update(`${file}\0${text}\0`);
  return h.digest('hex');
}

/**
 * The hash loadConfig would give the config at `path` now, without parsing it; or a description of
 * why it cannot be read. For noticing changes no file event reports (a ConfigMap's symlink swap, a
 * folder deleted and recreated). Files over the size cap are hashed by name and size only.
 */
export async function currentConfigHash(path: string, limits: ConfigLimits = defaultConfigLimits): Promise<string> {
  try {
    const files = await configFiles(path);
    const sources = await Promise.all(
      files.map(async (f) => {
        const { size } = await stat(f);
        return { file: displayName(f), text: size > limits.maxBytes ? `(${size} bytes)` : await readFile(f, 'utf8') };
      }),
    );
    return hashSources(sources);
  } catch (err) {
    return `unreadable: ${err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message}`;
  }
}

function displayName(f: string): string {
  const rel = relative(process.cwd(), f);
  return rel && !rel.startsWith('..') ? rel : f;
}
