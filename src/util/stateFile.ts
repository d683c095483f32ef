// Files under WATCHDOG_STATE_DIR (maintenance windows, incidents): read back as JSON with the reason a
// file cannot be used, and written whole to a temporary file renamed over the old one, so a crash
// mid-write leaves the old file, never half a new one.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The parsed content, nothing when there is no file, or the reason (naming the file) it cannot be used. */
export async function readJsonFile(path: string): Promise<{ ok: true; data?: unknown } | { ok: false; problem: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true };
    return { ok: false, problem: `${path}: cannot read: ${(err as Error).message}` };
  }
  try {
    return { ok: true, data: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, problem: `${path}: not JSON: ${(err as Error).message}` };
  }
}

export async function writeJsonAtomic(dir: string, name: string, data: unknown): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}
