// Reading a small file someone else owns (an env file, a stack's config) without trusting it: opened
// without blocking (a FIFO must not wait for a writer), refused when it is a folder or a device, and
// refused before reading when it is larger than the caller's cap, as the config loader does with
// probe files: a large file is the wrong file, and reading it would only cost memory.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { formatBytes } from './format.js';

export type SmallFile = { ok: true; text: string; mtimeMs: number; size: number } | { ok: false; code: string; why: string };

const errnoWords: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

/** The file's text and modification time; or a code (an errno, `EISDIR`, `not_regular`, `too_large`) and why in words. */
export async function readSmallFile(path: string, maxBytes: number, what = 'file'): Promise<SmallFile> {
  const refused = (code: string, why: string): SmallFile => ({ ok: false, code, why });
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    return refused(code, `${errnoWords[code] ?? (err as Error).message} (${code})`);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) return refused('EISDIR', 'it is a directory (EISDIR)');
    if (!st.isFile()) return refused('not_regular', 'it is not a regular file');
    if (st.size > maxBytes) return refused('too_large', `it holds ${st.size} bytes, more than ${formatBytes(maxBytes)} (${what})`);
    const text = await handle.readFile({ encoding: 'utf8' });
    // The file may have grown between stat and read.
    if (Buffer.byteLength(text) > maxBytes) return refused('too_large', `it grew past ${formatBytes(maxBytes)} while being read (${what})`);
    return { ok: true, text, mtimeMs: st.mtimeMs, size: st.size };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    return refused(code, `${(err as Error).message.replace(/^[A-Z]+: /, '')} (${code})`);
  } finally {
    await handle.close();
  }
}
