// The stack's own files, as the kinds that compare them with what runs read them (stack_config,
// dashboards). The stack's compose project folder is mounted read-only into the watchdog at STACK_DIR
// (default /stack, docker-compose.override.yml), laid out as the MyStocks one is; every path can be
// set apart in the profile (`files:`). A missing STACK_DIR is not an outage: the watchdog simply was
// not given the folder, so these probes read `blocked` with reason stack_dir_missing (not failing: no
// alert, one "probe blocked" log line per probe when it starts), and check nothing until it is there.
//
// What a kind uses:
//   fields:  stackDir: StackDirField, files: StackFilesField        (in its Type.Object)
//   decode:  stack: decodeStackDir(d, f.stackDir, f.files, ['dashboards', 'datasources'])
//   reasons: ...stackDirReasons
//   run:     const dir = await openStackDir(spec.stack, spec.name); if (!dir.ok) return dir.outcome;
//            listStackFiles(spec.stack.paths.dashboards) → the files a `*` pattern names, in name order
//            readStackFile(path, spec.name) → text and mtime, undefined when the file is absent
//            parseStackYaml(text) → the document, or the parser's first error with its line
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { parseDocument } from 'yaml';
import { readSmallFile } from '../util/files.js';
import { failed, failure, success } from './common.js';
import type { Attempt, Decoder, ProbeOutcome, ReasonHints } from './types.js';

/** Where each file lies in the stack's folder (the MyStocks layout). A `*` matches within the last part only. */
export const STACK_LAYOUT = {
  prometheusConfig: 'config/prometheus.yml',
  rules: 'config/rules/*.yml',
  alertmanagerConfig: 'config/alertmanager.yml',
  tempoConfig: 'config/tempo-config.yaml',
  dashboards: 'provisioning/dashboards/*.json',
  datasources: 'provisioning/datasources/*.yml',
} as const;
export type StackFileKey = keyof typeof STACK_LAYOUT;

/** YAML aliases expanded per file: a stack's config uses a few shared blocks at most, and an alias bomb must not cost memory. */
const MAX_YAML_ALIASES = 100;

/** A dashboard of a few hundred panels is a few hundred KiB; a stack's YAML files are a few KiB. */
export const MAX_STACK_FILE_BYTES = 2 * 1024 * 1024;

/** The stack's compose project folder as the watchdog sees it: `stackDir: ${STACK_DIR:-/stack}`. */
export const StackDirField = Type.String({ minLength: 1, errorMessage: 'expected the folder the stack is mounted at, e.g. ${STACK_DIR:-/stack}' });

/** Paths that differ from STACK_LAYOUT: relative to stackDir, or absolute. */
const StackPath = Type.Optional(Type.String({ minLength: 1 }));
export const StackFilesField = Type.Optional(
  Type.Object({ prometheusConfig: StackPath, rules: StackPath, alertmanagerConfig: StackPath, tempoConfig: StackPath, dashboards: StackPath, datasources: StackPath }, { additionalProperties: false }),
);
export type StackFilesWritten = Static<typeof StackFilesField>;

/** The decoded folder and the absolute path (or `*` pattern) of each file the kind reads. */
export interface StackDir<K extends StackFileKey = StackFileKey> {
  dir: string;
  paths: Record<K, string>;
}

export const stackDirReasons = {
  stack_dir_missing:
    "The stack's compose project folder is not mounted into the watchdog, so its files cannot be compared with what runs: mount it read-only at /stack (docker-compose.override.yml does: - .:/stack:ro, from the folder the override sits in), or set STACK_DIR to where it is. Until then this probe checks nothing (blocked, not failing).",
  stack_file_unreadable:
    "A file of the stack cannot be read: check the path (the profile's files: entry, or STACK_DIR) and that the watchdog's user (node, uid 1000) may read it: docker exec mystocks-watchdog ls -l <path>.",
} as const satisfies ReasonHints;
export type StackDirReason = keyof typeof stackDirReasons;

/** The folder and the paths of `keys` (the files this kind reads), with the profile's overrides; a key the kind does not read is a problem. */
export function decodeStackDir<K extends StackFileKey>(d: Decoder, stackDir: string, files: StackFilesWritten | undefined, keys: readonly K[]): StackDir<K> {
  const dir = stackDir.replace(/\/+$/, '') || '/';
  if (!isAbsolute(dir)) d.problem('stackDir', `"${stackDir}" is not an absolute path: give the folder as the watchdog sees it, e.g. /stack`);
  for (const k of Object.keys(files ?? {}) as StackFileKey[]) {
    if (!(keys as readonly StackFileKey[]).includes(k)) d.problem(`files.${k}`, `this kind does not read ${k}; it reads ${keys.join(', ')}`);
  }
  const paths = {} as Record<K, string>;
  for (const k of keys) {
    const written = files?.[k] ?? STACK_LAYOUT[k];
    if (dirname(written).includes('*')) d.problem(`files.${k}`, `"${written}": a * may only stand in the file name (config/rules/*.yml), not in a folder`);
    const many = STACK_LAYOUT[k].includes('*');
    if (!many && written.includes('*')) d.problem(`files.${k}`, `"${written}": ${k} is one file, not a pattern`);
    paths[k] = isAbsolute(written) ? written : join(dir, written);
  }
  return { dir, paths };
}

/** The path as people find it in the stack's folder: config/rules/x.yml rather than /stack/config/rules/x.yml. */
export function stackName(stack: StackDir<never>, path: string): string {
  const rel = relative(stack.dir, path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/** Blocked with stack_dir_missing when STACK_DIR is not there: the one thing that switches these probes off. */
export async function openStackDir(stack: StackDir<never>, probe: string): Promise<Attempt<void, StackDirReason>> {
  try {
    const st = await stat(stack.dir);
    if (st.isDirectory()) return success(undefined);
    return failure(failed('stack_file_unreadable', `probe "${probe}": STACK_DIR ${stack.dir} is not a folder`, undefined, { value: null, details: { stackDir: stack.dir } }));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      return failure(
        failed('stack_file_unreadable', `probe "${probe}" cannot open STACK_DIR ${stack.dir}: ${(err as Error).message}`, undefined, { value: null, details: { stackDir: stack.dir, cause: code } }),
      );
    }
    const off: ProbeOutcome<never, 'stack_dir_missing', never> = {
      status: 'blocked',
      reason: 'stack_dir_missing',
      message: `STACK_DIR ${stack.dir} does not exist, so probe "${probe}" checks nothing: mount the stack's compose folder there read-only, or set STACK_DIR`,
      value: null,
      details: { stackDir: stack.dir },
    };
    return failure(off);
  }
}

export interface StackFile {
  path: string;
  text: string;
  /** Last modification, ms since the epoch: what not_applied compares with a reload. */
  mtimeMs: number;
}

/** The file's text, or undefined when it does not exist (the stack may not have it); other problems are stack_file_unreadable. */
export async function readStackFile(path: string, probe: string): Promise<Attempt<StackFile | undefined, 'stack_file_unreadable'>> {
  const read = await readSmallFile(path, MAX_STACK_FILE_BYTES, "a stack's config file is far smaller");
  if (read.ok) return success({ path, text: read.text, mtimeMs: read.mtimeMs });
  if (read.code === 'ENOENT') return success(undefined);
  return failure(failed('stack_file_unreadable', `probe "${probe}" cannot read ${path}: ${read.why}`, undefined, { value: null, details: { file: path, cause: read.code } }));
}

/** The files a path names: itself, or for a `*` pattern every match in its folder in name order (none when the folder is absent). */
export async function listStackFiles(pattern: string, probe: string): Promise<Attempt<string[], 'stack_file_unreadable'>> {
  const name = basename(pattern);
  if (!name.includes('*')) return success([pattern]);
  const folder = dirname(pattern);
  const re = new RegExp(`^${name.split('*').map(escapeRegExp).join('[^/]*')}$`);
  try {
    const names = (await readdir(folder)).filter((n) => re.test(n) && !n.startsWith('.')).sort();
    return success(names.map((n) => join(folder, n)));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    if (code === 'ENOENT') return success([]);
    return failure(failed('stack_file_unreadable', `probe "${probe}" cannot list ${folder}: ${(err as Error).message}`, undefined, { value: null, details: { folder, cause: code } }));
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A stack YAML file's document, or the parser's first error with its line (as Prometheus would refuse the file). */
export function parseStackYaml(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const doc = parseDocument(text, { prettyErrors: true });
  const e = doc.errors[0];
  if (e) return { ok: false, error: `line ${e.linePos?.[0].line ?? '?'}: ${e.message.split(' at line ')[0]?.split('\n')[0] ?? e.message}` };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
