/**
 * The load bench's own processes (elements under test, SIPp) and what it reads about them from /proc.
 * Every child is spawned detached, i.e. as the leader of its own process group, so stopping it by its pid
 * also stops what it forked (Kamailio's workers); on exit or on a signal every child still running is
 * killed by pid. Nothing else is ever signalled.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createWriteStream, rmSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';

export interface Managed {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or -1 when killed by a signal) once the process has exited. */
  readonly exited: Promise<number>;
  /** True once the process has exited. */
  readonly done: () => boolean;
  /** How it ended (`code 0`, `signal SIGTERM`); undefined while it runs. */
  readonly how: () => string | undefined;
}

export interface SpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** stdout and stderr go to this file (appended); discarded when absent. */
  readonly logFile?: string;
}

const live = new Set<Managed>();
let hooksInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // the group led by our child (spawned detached)
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGKILL every child still running (synchronous: safe in an 'exit' handler). */
export function killAll(): void {
  for (const m of live) killGroup(m.pid, 'SIGKILL');
  live.clear();
}

const scratch = new Set<string>();

/** Remove `dir` (recursively) if the bench is stopped by a signal before it finishes. */
export function removeIfInterrupted(dir: string): void {
  installHooks();
  scratch.add(dir);
}

/** The bench finished with `dir` (removed or kept it as asked): a late signal leaves it alone. */
export function keepIfInterrupted(dir: string): void {
  scratch.delete(dir);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\nload bench: ${signal}, stopping every process it started`);
      killAll();
      for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  }
}

/** Start `command` as its own process group and track it until it exits. */
export function spawnManaged(
  name: string,
  command: string,
  args: readonly string[],
  opts: SpawnOptions = {},
) {
  installHooks();
  const out = opts.logFile === undefined ? 'ignore' : 'pipe';
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  if (opts.logFile !== undefined) {
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.once('close', () => log.end());
  }
  let isDone = false;
  let how: string | undefined;
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => {
      isDone = true;
      how = signal !== null ? `signal ${signal}` : `code ${code}`;
      live.delete(managed);
      resolve(code ?? -1);
    });
    child.once('error', () => {
      isDone = true;
      live.delete(managed);
      resolve(-1);
    });
  });
  const managed: Managed = { name, pid: child.pid, child, exited, done: () => isDone, how: () => how };
  live.add(managed);
  return managed;
}

/** Ask a process group to stop (SIGTERM, or `signal`), SIGKILL it after `graceMs`; resolves once it exited. */
export async function stopManaged(
  m: Managed,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 5000,
): Promise<number> {
  if (m.done()) return m.exited;
  killGroup(m.pid, signal);
  const timer = setTimeout(() => killGroup(m.pid, 'SIGKILL'), graceMs);
  try {
    return await m.exited;
  } finally {
    clearTimeout(timer);
    // Workers of a group leader that exited first (Kamailio) must not outlive it.
    killGroup(m.pid, 'SIGKILL');
  }
}

// --- /proc readers --------------------------------------------------------------------------------------

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on Linux x86-64). */
export const CLOCK_TICKS = 100;

/** utime + stime of one process in clock ticks (all its threads); 0 once it is gone. */
export async function cpuTicks(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // fields 14 and 15 of proc(5)
  } catch {
    return 0;
  }
}

/** Sum of cpuTicks over several processes. */
export async function cpuTicksOf(pids: readonly number[]): Promise<number> {
  const all = await Promise.all(pids.map(cpuTicks));
  return all.reduce((a, b) => a + b, 0);
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM, ...); 0 when absent. */
export async function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Proportional set size of one process in kB (shared pages divided among their users); 0 when gone. */
export async function pssKb(pid: number): Promise<number> {
  try {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    const m = /^Pss:\s+(\d+) kB/m.exec(rollup);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Sum of a /proc/<pid>/status field over several processes, kB. */
export async function statusKbOf(pids: readonly number[], field: 'VmRSS' | 'VmHWM'): Promise<number> {
  return (await Promise.all(pids.map((p) => statusKb(p, field)))).reduce((a, b) => a + b, 0);
}

/** Sum of PSS over several processes, kB (memory shared between them counted once). */
export async function pssKbOf(pids: readonly number[]): Promise<number> {
  return (await Promise.all(pids.map(pssKb))).reduce((a, b) => a + b, 0);
}

/** False once `pid` has exited (gone, or a zombie not yet reaped). */
export async function running(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** `pid` and all its descendants (by parent pid, from /proc). */
export async function processTree(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // exited meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/**
 * Datagrams the kernel dropped on a UDP socket bound to `address`:`port` because its receive buffer was
 * full (the `drops` column of /proc/net/udp); 0 when there is no such socket.
 */
export async function udpDrops(address: string, port: number): Promise<number> {
  const hexIp = address
    .split('.')
    .reverse()
    .map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0'))
    .join('');
  const needle = `${hexIp}:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const table = await readFile('/proc/net/udp', 'utf8').catch(() => '');
  for (const line of table.split('\n')) {
    if (!line.includes(needle)) continue;
    const fields = line.trim().split(/\s+/);
    if (fields[1] === needle.trim()) return Number(fields[fields.length - 1]) || 0;
  }
  return 0;
}

/**
 * Datagrams dropped (receive buffer full) on every UDP socket the processes `pids` hold except those bound
 * to `exceptPort` (cluster mode: the workers' loopback forwarding sockets), matched by socket inode.
 */
export async function udpDropsOfPids(pids: readonly number[], exceptPort: number): Promise<number> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m) inodes.add(m[1]!);
    }
  }
  const except = `:${exceptPort.toString(16).toUpperCase().padStart(4, '0')}`;
  const table = await readFile('/proc/net/udp', 'utf8').catch(() => '');
  let drops = 0;
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13 || f[1]!.endsWith(except) || !inodes.has(f[9]!)) continue;
    drops += Number(f[f.length - 1]) || 0;
  }
  return drops;
}

// --- ports ----------------------------------------------------------------------------------------------

/** A port free for both UDP and TCP on `address` (probed by binding, then released). */
export async function freePort(address = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createNetServer();
      s.once('error', reject);
      s.listen(0, address, () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, address, () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error(`no free port on ${address}`);
}

/** `count` consecutive ports, all free for TCP on `address` (the first from freePort). */
export async function freePortRange(count: number, address = '127.0.0.1'): Promise<number> {
  const tcpFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createNetServer();
      s.once('error', () => resolve(false));
      s.listen(port, address, () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort(address);
    if (base + count - 1 > 65535) continue;
    let ok = true;
    for (let i = 1; i < count && ok; i++) ok = await tcpFree(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports on ${address}`);
}

/** Wait until something is bound to udp 127.0.0.1:`port` (from /proc/net/udp). */
export async function waitUdpBound(port: number, m: Managed, what: string): Promise<void> {
  const needle = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (m.done()) throw new Error(`${what} exited before listening on udp ${port} (see its log)`);
    const table = await readFile('/proc/net/udp', 'utf8');
    if (table.includes(needle)) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on udp 127.0.0.1:${port} within 15 s`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
