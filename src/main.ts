#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * The `stirgate` entry (package.json `bin`). ESM links every static import before any code runs, and the
 * command line (src/cli/main.ts) imports modules an older Node cannot link; so this module statically imports
 * only src/node-version.ts (which imports nothing), checks the running Node.js, and only then loads the CLI.
 * On an older Node: one line on stderr, exit 1.
 */
import { nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exitCode = 1;
} else {
  const { main } = await import('./cli/main.js');
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error('stirgate: fatal:', err);
      process.exitCode = 1;
    },
  );
}
