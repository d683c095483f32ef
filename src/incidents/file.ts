// incidents.json in WATCHDOG_STATE_DIR. Read entry by entry: one damaged incident is dropped (and
// named in the log), not the whole history; a file that is not JSON at all is moved aside to
// incidents.json.corrupt, so the next write does not destroy what someone may want to read.
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { readJsonFile } from '../util/stateFile.js';

export const INCIDENT_FILE = 'incidents.json';

const Time = Type.Number({ minimum: 0 });

export const Incident = Type.Object({
  probe: Type.String({ minLength: 1 }),
  /** ms since the epoch */
  start: Time,
  /** null while it is going on */
  end: Type.Union([Time, Type.Null()]),
  reasons: Type.Array(Type.String()),
  message: Type.String(),
  hint: Type.Union([Type.String(), Type.Null()]),
  /** Maintenance windows that covered the probe while it was open. */
  maintenance: Type.Array(Type.String()),
});
export type Incident = Static<typeof Incident>;

const FileHead = Type.Object({ version: Type.Literal(1), incidents: Type.Array(Type.Unknown()), watched: Type.Record(Type.String(), Time) });

const checkIncident = TypeCompiler.Compile(Incident);
const checkHead = TypeCompiler.Compile(FileHead);

export interface IncidentFileRead {
  path: string;
  incidents: Incident[];
  watched: Record<string, number>;
  /** What was dropped and why, each naming the file. */
  problems: string[];
}

export async function readIncidentFile(dir: string): Promise<IncidentFileRead> {
  const path = join(dir, INCIDENT_FILE);
  const empty: IncidentFileRead = { path, incidents: [], watched: {}, problems: [] };
  const read = await readJsonFile(path);
  if (read.ok && read.data === undefined) return empty;
  if (!read.ok || !checkHead.Check(read.data)) {
    const e = read.ok ? checkHead.Errors(read.data).First() : undefined;
    const problem = read.ok ? `${path}: unexpected content at ${e?.path || '(top level)'}: ${e?.message ?? 'invalid'}` : read.problem;
    const aside = `${path}.corrupt`;
    const moved = await rename(path, aside).then(
      () => `; moved to ${aside}`,
      () => '',
    );
    return { ...empty, problems: [`${problem}: every incident from before the restart is lost${moved}`] };
  }
  const out: IncidentFileRead = { ...empty, watched: read.data.watched };
  read.data.incidents.forEach((entry, i) => {
    if (!checkIncident.Check(entry)) {
      const e = checkIncident.Errors(entry).First();
      out.problems.push(`${path}: incidents/${i}${e?.path ?? ''}: ${e?.message ?? 'invalid'}: entry dropped`);
    } else if (entry.end !== null && entry.end < entry.start) out.problems.push(`${path}: incidents/${i}: ends before it starts: entry dropped`);
    else out.incidents.push(entry);
  });
  return out;
}
