// Runs SIPp (Debian package sip-tester, SIPp 3.6) from tests and reads back its own verdict: the
// SuccessfulCall(C) / FailedCall(C) counters of the -trace_stat file, its exit code and its error log.
//
// Scenarios live in sip-scenarios/ (see sip-scenarios/README.md). They take two keys, aleg_marker and
// bleg_marker, that put recognisable tokens into each side's tags and Contact users; the UAC also gets
// its Call-ID from -cid_str '<aleg>-%u-%p@%s'. UAS scenarios fail a call when "ALEG-" or 127.0.0.2
// reaches them, UAC scenarios when "BLEG-" does. Through Stirgate use STIRGATE_MARKERS (the default)
// and the UAC on 127.0.0.2; sipp to sipp use DIRECT_MARKERS and the UAC on another loopback address.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, isPortBound } from './ports.js';

/** SIPp -t modes used here: one socket (u1/t1) or one socket per call (un/tn). */
export type SippTransport = 'u1' | 't1' | 'un' | 'tn';

/** Tokens each side writes into its tags, Contact user and (UAC) Call-ID; the other side checks them. */
export interface SippMarkers {
  readonly aleg: string;
  readonly bleg: string;
}

/** The markers the scenarios' leak checks look for: use these when Stirgate sits in the middle. */
export const STIRGATE_MARKERS: SippMarkers = { aleg: 'ALEG', bleg: 'BLEG' };
/** Neutral markers for sipp-to-sipp runs, where each side legitimately sees the other. */
export const DIRECT_MARKERS: SippMarkers = { aleg: 'UAC', bleg: 'UAS' };

/** Absolute path of the repository's sip-scenarios/ folder. */
export const SCENARIO_DIR = fileURLToPath(new URL('../../sip-scenarios/', import.meta.url));

/** A file under sip-scenarios/, e.g. scenarioPath('basic/uac.xml'). */
export function scenarioPath(relative: string): string {
  return join(SCENARIO_DIR, relative);
}

export interface SippRunOptions {
  /** Path of the scenario XML (-sf). */
  scenario: string;
  /** host:port SIPp sends its first request to. */
  remote: string;
  transport: SippTransport;
  /** -i (SIPp binds to it). Default 127.0.0.2, the address UAS leak checks look for. */
  localIp?: string;
  /** -p. Default: a free port. SIPp itself would take 5060. */
  localPort?: number;
  /** -m: SIPp exits after this many calls. */
  calls: number;
  /** -r calls per rate period (SIPp default 10). */
  rate?: number;
  /** -rp in milliseconds (SIPp default 1000). */
  ratePeriodMs?: number;
  /** -l: maximum simultaneous calls. */
  concurrent?: number;
  /** -timeout Ns -timeout_error: the whole run's bound; node SIGKILLs it 10 s later as a backstop. */
  timeoutS: number;
  /** -key name value, e.g. { status: '486' } for reject/. */
  keys?: Readonly<Record<string, string>>;
  /** Default STIRGATE_MARKERS. Sets -key aleg_marker/bleg_marker and -cid_str. */
  markers?: SippMarkers;
  /** -s, the callee user in the Request-URI and To. Default +12025550199. */
  service?: string;
  /** -trace_msg: return every message sent and received in messageLog (truncated). */
  traceMessages?: boolean;
  extraArgs?: readonly string[];
  cwd?: string;
}

export interface SippResult {
  /** SIPp: 0 all calls succeeded, 1 some failed, 97 internal exit, 99 no calls, 255 fatal or -timeout. -1 if killed by a signal. */
  exitCode: number;
  signal: NodeJS.Signals | null;
  /** SIPp's -timeout fired, or the node backstop had to kill it. */
  timedOut: boolean;
  /** SuccessfulCall(C) from the last -trace_stat row. */
  successful: number;
  /** FailedCall(C) from the last -trace_stat row. */
  failed: number;
  /** TotalCallCreated from the last -trace_stat row. */
  created: number;
  /** The last -trace_stat row, column name to value (empty if SIPp never wrote one). */
  stats: Record<string, string>;
  stdout: string;
  stderr: string;
  /** -trace_err contents (unexpected messages, failed checks), truncated; absent when SIPp wrote none. */
  errorLog?: string;
  /** -trace_msg contents when traceMessages was set, truncated. */
  messageLog?: string;
  /** The argument vector SIPp ran with, for failure messages. */
  args: readonly string[];
}

export interface SippServerOptions extends Omit<SippRunOptions, 'remote' | 'localIp'> {
  /** -i. Default 127.0.0.1. */
  localIp?: string;
}

export interface SippServer {
  /** The port the UAS listens on (given, or chosen free). */
  readonly port: number;
  readonly pid: number | undefined;
  /** Resolves once the socket is bound (read from /proc/net); rejects if SIPp exits first or takes over 5 s. */
  readonly ready: Promise<void>;
  /** Resolves when SIPp exits on its own (after `calls` calls, or -timeout) or after stop(). */
  readonly result: Promise<SippResult>;
  /** SIGUSR1 (SIPp's soft exit: finish ongoing calls), then SIGTERM after 2 s, SIGKILL after 4 s. */
  stop(): Promise<SippResult>;
}

const DEFAULT_SERVICE = '+12025550199';
const BACKSTOP_EXTRA_MS = 10_000;
const OUTPUT_CAP = 64 * 1024;
const ERROR_LOG_CAP = 16 * 1024;
const READY_TIMEOUT_MS = 5_000;

let cachedBinary: string | null | undefined;

/** Running SIPp processes and their scratch folders, so a worker that exits early leaves neither behind. */
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;

function track(child: ChildProcess, dir: string): void {
  live.set(child, dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [proc, scratch] of live) {
      proc.kill('SIGKILL');
      rmSync(scratch, { recursive: true, force: true });
    }
  });
}

/** The sipp executable: $SIPP_BIN, else the first `sipp` on PATH; undefined if there is none. */
export function sippBinary(): string | undefined {
  if (cachedBinary === undefined) cachedBinary = findBinary() ?? null;
  return cachedBinary ?? undefined;
}

/** Whether SIPp can be run here. Tests that need it skip (loudly) when it is false. */
export function sippAvailable(): boolean {
  return sippBinary() !== undefined;
}

function findBinary(): string | undefined {
  const candidates = process.env.SIPP_BIN
    ? [process.env.SIPP_BIN]
    : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'sipp'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a SIPp client scenario to completion (or to its -timeout) and returns its own verdict. */
export async function runSipp(opts: SippRunOptions): Promise<SippResult> {
  const localPort = opts.localPort ?? (await freePort('both', opts.localIp ?? '127.0.0.2'));
  const run = await launch({ ...opts, localIp: opts.localIp ?? '127.0.0.2', localPort });
  return run.result;
}

/**
 * Starts a SIPp server (UAS) scenario in the background. Give it `calls` so it exits by itself once
 * that many calls are done; stop() covers runs where fewer arrive.
 */
export async function startSippServer(opts: SippServerOptions): Promise<SippServer> {
  const localIp = opts.localIp ?? '127.0.0.1';
  const isTcp = opts.transport === 't1' || opts.transport === 'tn';
  const port = opts.localPort ?? (await freePort(isTcp ? 'tcp' : 'udp', localIp));
  const run = await launch({ ...opts, localIp, localPort: port });
  let exited = false;
  void run.result.then(() => {
    exited = true;
  });

  const ready = (async () => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited) {
        const r = await run.result;
        throw new Error(
          `sipp ${opts.scenario} exited (code ${r.exitCode}) before it bound port ${port}: ${r.stderr.trim()}`,
        );
      }
      const bound = await isPortBound(isTcp ? 'tcp' : 'udp', port);
      if (bound === undefined) {
        await sleep(300); // no /proc/net: give SIPp a moment instead
        return;
      }
      if (bound) return;
      if (Date.now() > deadline)
        throw new Error(`sipp ${opts.scenario} did not bind port ${port} within 5 s`);
      await sleep(20);
    }
  })();
  // A caller that never awaits `ready` must not see an unhandled rejection.
  ready.catch(() => {});

  const stop = async (): Promise<SippResult> => {
    if (!exited) {
      run.child.kill('SIGUSR1');
      const escalate = [
        setTimeout(() => run.child.kill('SIGTERM'), 2_000),
        setTimeout(() => run.child.kill('SIGKILL'), 4_000),
      ];
      try {
        return await run.result;
      } finally {
        for (const timer of escalate) clearTimeout(timer);
      }
    }
    return run.result;
  };

  return { port, pid: run.child.pid, ready, result: run.result, stop };
}

interface LaunchOptions extends Omit<SippRunOptions, 'remote' | 'localIp' | 'localPort'> {
  remote?: string;
  localIp: string;
  localPort: number;
}

interface Launched {
  child: ChildProcess;
  result: Promise<SippResult>;
}

async function launch(opts: LaunchOptions): Promise<Launched> {
  const binary = sippBinary();
  if (binary === undefined)
    throw new Error('sipp is not installed (apt-get install sip-tester), or set SIPP_BIN');
  const dir = await mkdtemp(join(tmpdir(), 'stirgate-sipp-'));
  const files = {
    stats: join(dir, 'stats.csv'),
    errors: join(dir, 'errors.log'),
    messages: join(dir, 'messages.log'),
  };
  const args = buildArgs(opts, files);
  const child = spawn(binary, args, { cwd: opts.cwd ?? dir, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child, dir);

  const stdout = new CappedText(OUTPUT_CAP);
  const stderr = new CappedText(OUTPUT_CAP);
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));

  let killedByBackstop = false;
  const backstop = setTimeout(
    () => {
      killedByBackstop = true;
      child.kill('SIGKILL');
    },
    opts.timeoutS * 1000 + BACKSTOP_EXTRA_MS,
  );

  const result = new Promise<SippResult>((resolve) => {
    const finish = async (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      clearTimeout(backstop);
      live.delete(child);
      const statsText = await readOptional(files.stats);
      const stats = parseStats(statsText ?? '');
      const errorLog = await readOptional(files.errors);
      const messageLog = opts.traceMessages ? await readOptional(files.messages) : undefined;
      await rm(dir, { recursive: true, force: true });
      const err = stderr.text() + (spawnError ? `\n${spawnError.message}` : '');
      resolve({
        exitCode: code ?? -1,
        signal,
        timedOut: killedByBackstop || /timed out after/.test(err),
        successful: toCount(stats['SuccessfulCall(C)']),
        failed: toCount(stats['FailedCall(C)']),
        created: toCount(stats.TotalCallCreated),
        stats,
        stdout: stdout.text(),
        stderr: err,
        ...(errorLog === undefined ? {} : { errorLog: truncate(errorLog, ERROR_LOG_CAP) }),
        ...(messageLog === undefined ? {} : { messageLog: truncate(messageLog, OUTPUT_CAP) }),
        args,
      });
    };
    let settled = false;
    child.once('error', (error) => {
      if (settled) return;
      settled = true;
      void finish(null, null, error);
    });
    child.once('close', (code, signal) => {
      if (settled) return;
      settled = true;
      void finish(code, signal);
    });
  });
  return { child, result };
}

function buildArgs(
  opts: LaunchOptions,
  files: { stats: string; errors: string; messages: string },
): string[] {
  const markers = opts.markers ?? STIRGATE_MARKERS;
  const args: string[] = [];
  if (opts.remote !== undefined) args.push(opts.remote);
  args.push(
    '-sf',
    opts.scenario,
    '-t',
    opts.transport,
    '-i',
    opts.localIp,
    '-p',
    String(opts.localPort),
    '-m',
    String(opts.calls),
    '-s',
    opts.service ?? DEFAULT_SERVICE,
    // Without -timeout_error SIPp's -timeout is a soft stop that waits for open calls forever.
    '-timeout',
    `${opts.timeoutS}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_stat',
    '-stf',
    files.stats,
    '-fd',
    '1',
    '-trace_err',
    '-error_file',
    files.errors,
    '-cid_str',
    `${markers.aleg}-%u-%p@%s`,
    '-key',
    'aleg_marker',
    markers.aleg,
    '-key',
    'bleg_marker',
    markers.bleg,
  );
  if (opts.rate !== undefined) args.push('-r', String(opts.rate));
  if (opts.ratePeriodMs !== undefined) args.push('-rp', String(opts.ratePeriodMs));
  if (opts.concurrent !== undefined) args.push('-l', String(opts.concurrent));
  for (const [name, value] of Object.entries(opts.keys ?? {})) args.push('-key', name, value);
  if (opts.traceMessages) args.push('-trace_msg', '-message_file', files.messages);
  if (opts.extraArgs) args.push(...opts.extraArgs);
  return args;
}

/** Column name to value for the last data row of a SIPp -trace_stat file (';'-separated). */
export function parseStats(csv: string): Record<string, string> {
  const lines = csv.split('\n').filter((line) => line.trim() !== '');
  const header = lines[0];
  const last = lines.length > 1 ? lines[lines.length - 1] : undefined;
  if (header === undefined || last === undefined) return {};
  const names = header.split(';');
  const values = last.split(';');
  const row: Record<string, string> = {};
  names.forEach((name, i) => {
    if (name !== '') row[name] = values[i] ?? '';
  });
  return row;
}

function toCount(value: string | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

function truncate(text: string, cap: number): string {
  return text.length <= cap ? text : `${text.slice(0, cap)}\n[... ${text.length - cap} more characters]`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Keeps the last `cap` characters of a stream (SIPp prints its final screens at exit). */
class CappedText {
  #parts: string[] = [];
  #length = 0;
  constructor(private readonly cap: number) {}
  push(chunk: string): void {
    this.#parts.push(chunk);
    this.#length += chunk.length;
    while (this.#length > this.cap && this.#parts.length > 1) {
      this.#length -= this.#parts.shift()?.length ?? 0;
    }
  }
  text(): string {
    const all = this.#parts.join('');
    return all.length > this.cap ? all.slice(all.length - this.cap) : all;
  }
}
