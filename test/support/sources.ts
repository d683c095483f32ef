// The repository's TypeScript files, for tests that read the code itself (one reader per format, one
// module per outside system).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..');

/** Every .ts file under the given folders of the repository, as paths relative to its root. */
export function sourceFiles(...dirs: string[]): string[] {
  return dirs.flatMap((dir) =>
    readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return sourceFiles(path);
      return e.name.endsWith('.ts') ? [path] : [];
    }),
  );
}
