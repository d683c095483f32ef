// The state file: API windows and the silences made for windows, so both survive a restart. Written
// atomically (src/util/stateFile.ts): a crash mid-write leaves the old file, never half a new one.
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { readJsonFile, writeJsonAtomic } from '../util/stateFile.js';

const Selector = Type.Object({ probes: Type.Array(Type.String()), kinds: Type.Array(Type.String()), labels: Type.Record(Type.String(), Type.String()) });

export const StateFile = Type.Object({
  version: Type.Literal(1),
  windows: Type.Array(Type.Object({ id: Type.String(), source: Type.Literal('api'), reason: Type.String(), startsAt: Type.Number(), endsAt: Type.Number(), selector: Selector })),
  /** Silence ids by window id, with the window's end: past it Alertmanager has expired the silence itself. */
  silences: Type.Record(Type.String(), Type.Object({ silenceId: Type.String(), endsAt: Type.Number() })),
});
export type StateFile = Static<typeof StateFile>;

const check = TypeCompiler.Compile(StateFile);
const checkSelector = TypeCompiler.Compile(Selector);

/** Whether `value` is a window's selector as the state file (and a window's silence comment) writes it. */
export function isSelector(value: unknown): value is Static<typeof Selector> {
  return checkSelector.Check(value);
}

export const STATE_FILE = 'maintenance.json';

/** The file's content, nothing when there is no file, or the reason it cannot be used. */
export async function readState(dir: string): Promise<{ ok: true; state?: StateFile } | { ok: false; problem: string }> {
  const path = join(dir, STATE_FILE);
  const read = await readJsonFile(path);
  if (!read.ok || read.data === undefined) return read;
  if (!check.Check(read.data)) {
    const e = check.Errors(read.data).First();
    return { ok: false, problem: `${path}: unexpected content at ${e?.path || '(top level)'}: ${e?.message ?? 'invalid'}` };
  }
  return { ok: true, state: read.data };
}

export async function writeState(dir: string, state: StateFile): Promise<void> {
  await writeJsonAtomic(dir, STATE_FILE, state);
}
