import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the first folder above this module with a package.json (works from fuzz/ and dist/fuzz/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('fuzz: no package.json above the fuzz folder');
    dir = up;
  }
  return dir;
}

/** Every file in a folder of the repository whose name ends with `ext`, sorted by name. */
export function filesIn(relDir: string, ext: string): Uint8Array[] {
  const dir = join(repoRoot(), relDir);
  return readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}
