// The compiled `stirgate` binary (dist/src/main.js) for tests that need the real process: its command line,
// its exit codes, and (cluster mode) the processes it forks.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = join(ROOT, 'dist', 'src', 'main.js');

/**
 * The binary under test is the compiled one. `npm test` builds first, but a lone `vitest run` does not: build
 * here when dist is missing or older than a source file (tsc 7 takes ~1.5 s), instead of testing stale code,
 * and copy the web console's files as package.json `build` does.
 */
export async function ensureBuilt(): Promise<void> {
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  await run(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      timeout: 120_000,
    },
  ).catch((err: { stdout?: string }) => {
    // tsc exits non-zero on type errors elsewhere but still emits; only a missing output is fatal.
    if (!existsSync(MAIN)) throw new Error(`build failed: ${err.stdout ?? String(err)}`);
  });
  await cp(join(ROOT, CONSOLE_ASSETS), join(ROOT, 'dist', CONSOLE_ASSETS), { recursive: true });
}

/** The web console's files (src/admin/console/console-routes.ts), copied beside its compiled module. */
const CONSOLE_ASSETS = join('src', 'admin', 'console', 'assets');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export interface BinaryProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far (the last 128-256 KiB). */
  output(): string;
  /** Resolves with the exit code once the process has exited (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Resolves once `text` appears in the output; rejects if the process exits first or after `ms`. */
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
}

/** `node dist/src/main.js ...args` in `cwd`, output captured. */
export function spawnBinary(
  args: readonly string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): BinaryProcess {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
  });
  let out = '';
  const append = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.length > 256 * 1024) out = out.slice(-128 * 1024);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    child,
    output: () => out,
    exited,
    async waitFor(text, ms = 10_000) {
      const deadline = Date.now() + ms;
      const seen = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
      while (!seen()) {
        if (done) throw new Error(`stirgate exited with ${child.exitCode} before ${String(text)}:\n${out}`);
        if (Date.now() > deadline) throw new Error(`no ${String(text)} within ${ms} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Pids of the direct children of `pid` (cluster workers of a primary), from /proc. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may contain spaces, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process went away
    }
  }
  return out;
}

/** SIGKILL a binary that is still running, its cluster workers first, and wait for it (test cleanup). */
export async function killBinary(bin: BinaryProcess | undefined): Promise<void> {
  if (bin === undefined || bin.child.exitCode !== null || bin.child.signalCode !== null) return;
  for (const pid of childPids(bin.child.pid!)) process.kill(pid, 'SIGKILL');
  bin.child.kill('SIGKILL');
  await bin.exited;
}

/** `stirgate_calls_active` from the element's /metrics on 127.0.0.1:`port` (0 when the series is absent). */
export async function callsActive(port: number): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^stirgate_calls_active (\S+)$/m.exec(body)?.[1] ?? 0);
}
