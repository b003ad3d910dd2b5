/**
 * SIPp (Debian sip-tester 3.6) for the load bench: a caller that places `calls` calls at `rate` per second
 * and reads back SIPp's own verdict (-trace_stat) and every INVITE response time (-trace_rtt), and a callee
 * that answers until stopped. UDP, one socket per side (-t u1), loopback only. Written for the bench (the
 * test harness in test/support/sipp.ts does the same for tests; bench code does not import test code).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { quantileOfSorted } from './log-histogram.js';
import { type Managed, spawnManaged, stopManaged } from './processes.js';

/** 4 MiB socket buffers: SIPp's default (64 KiB) drops datagrams in bursts at a few thousand calls/s. */
const SOCKET_BUFFER = String(4 * 1024 * 1024);

export interface UacOptions {
  /** host:port of the first hop (the element, or the callee for direct runs). */
  readonly remote: string;
  readonly scenario: string;
  /** Calls per second (-r with -rp 1000). */
  readonly rate: number;
  /** Calls to place (-m). */
  readonly calls: number;
  /** Pause between ACK and BYE (-d), ms. */
  readonly pauseMs: number;
  /** Most simultaneous calls (-l). */
  readonly limit: number;
  /** Hard stop: SIPp gives up (exit 255) after this many seconds. */
  readonly timeoutS: number;
  /** Working directory: stats, RTT and error files land here. */
  readonly dir: string;
  /** Local port on 127.0.0.2. */
  readonly localPort: number;
  /** Called number (-s). */
  readonly service: string;
  /** Injection file (-inf), e.g. Identity headers. */
  readonly injectFile?: string;
  /** -default_behaviors; default `all,-abortunexp` (below). */
  readonly defaultBehaviors?: string;
}

export interface UacResult {
  /** SIPp exit code: 0 all calls succeeded, 1 some failed, 255 -timeout or fatal. */
  readonly exitCode: number;
  readonly created: number;
  readonly successful: number;
  readonly failed: number;
  /** Created but neither successful nor failed when SIPp stopped (the hard stop fired). */
  readonly incomplete: number;
  readonly retransmissions: number;
  /** INVITE -> 200 response times, ms, ascending (SIPp resolution: 1 ms). */
  readonly rttMs: Float64Array;
  /** Wall time of the SIPp run, ms. */
  readonly wallMs: number;
  /** Seconds SIPp took to create all the calls (1 s resolution); Infinity when it never did. */
  readonly creationS: number;
  /** Counters of the last -trace_stat row. */
  readonly stats: Readonly<Record<string, string>>;
  readonly args: readonly string[];
}

function num(stats: Record<string, string>, key: string): number {
  const n = Number(stats[key]);
  return Number.isFinite(n) ? n : 0;
}

/** Column name -> value of the last row of a -trace_stat file (';'-separated). */
export function lastStatsRow(csv: string): Record<string, string> {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
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

/** Response times (ms) from a -trace_rtt file (`Date_ms;response_time_ms;rtd_no`), ascending. */
export function parseRtt(csv: string): Float64Array {
  const values: number[] = [];
  for (const line of csv.split('\n')) {
    const semi = line.indexOf(';');
    if (semi < 0) continue;
    const v = Number(line.slice(semi + 1, line.indexOf(';', semi + 1)));
    if (Number.isFinite(v) && line[0] !== 'D') values.push(v);
  }
  return Float64Array.from(values).sort();
}

/** Seconds from SIPp's start until it had created `calls` calls (from the per-second -trace_stat rows). */
export function creationSeconds(csv: string, calls: number): number {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const names = lines[0]?.split(';') ?? [];
  const iStart = names.indexOf('StartTime');
  const iNow = names.indexOf('CurrentTime');
  const iCreated = names.indexOf('TotalCallCreated');
  const epoch = (cell: string | undefined) => Number(cell?.split('\t').pop());
  for (const line of lines.slice(1)) {
    const v = line.split(';');
    if (Number(v[iCreated]) >= calls) return epoch(v[iNow]) - epoch(v[iStart]);
  }
  return Number.POSITIVE_INFINITY;
}

export interface UacRun {
  readonly process: Managed;
  readonly result: Promise<UacResult>;
}

/** Start the caller; `result` resolves once SIPp has exited (all calls done, or the hard stop). */
export function startUac(o: UacOptions): UacRun {
  const stats = join(o.dir, 'uac-stats.csv');
  const args = [
    o.remote,
    '-sf',
    o.scenario,
    '-t',
    'u1',
    '-i',
    '127.0.0.2',
    '-p',
    String(o.localPort),
    '-m',
    String(o.calls),
    '-r',
    String(o.rate),
    '-rp',
    '1000',
    '-l',
    String(o.limit),
    '-d',
    String(o.pauseMs),
    '-s',
    o.service,
    '-timeout',
    `${o.timeoutS}s`,
    '-timeout_error',
    '-nostdin',
    '-buff_size',
    SOCKET_BUFFER,
    // A 1xx arriving after the 200 (reordered by a multi-process proxy) is logged, not a failed call. A
    // wrong final response still fails the step: that call never completes and counts as unfinished.
    '-default_behaviors',
    o.defaultBehaviors ?? 'all,-abortunexp',
    '-trace_stat',
    '-stf',
    stats,
    '-fd',
    '1',
    '-trace_err',
    '-error_file',
    join(o.dir, 'uac-errors.log'),
    '-trace_rtt',
    // SIPp writes RTTs in blocks of rtt_freq and drops a partial block at exit: calls are multiples of 50.
    '-rtt_freq',
    '50',
    ...(o.injectFile !== undefined ? ['-inf', o.injectFile] : []),
  ];
  const t0 = Date.now();
  const m = spawnManaged('sipp-uac', 'sipp', args, { cwd: o.dir, logFile: join(o.dir, 'uac.log') });
  return { process: m, result: collect(o, m, args, stats, t0) };
}

async function collect(
  o: UacOptions,
  m: Managed,
  args: readonly string[],
  stats: string,
  t0: number,
): Promise<UacResult> {
  const backstop = setTimeout(() => void stopManaged(m, 'SIGKILL'), (o.timeoutS + 15) * 1000);
  const exitCode = await m.exited;
  clearTimeout(backstop);
  const wallMs = Date.now() - t0;
  const csv = await readFile(stats, 'utf8').catch(() => '');
  const row = lastStatsRow(csv);
  const rttFile = (await readdir(o.dir)).find((f) => f.endsWith('_rtt.csv'));
  const rttMs = rttFile ? parseRtt(await readFile(join(o.dir, rttFile), 'utf8')) : new Float64Array();
  const created = num(row, 'TotalCallCreated');
  const successful = num(row, 'SuccessfulCall(C)');
  const failed = num(row, 'FailedCall(C)');
  return {
    exitCode,
    created,
    successful,
    failed,
    incomplete: Math.max(0, created - successful - failed),
    retransmissions: num(row, 'Retransmissions(C)'),
    rttMs,
    wallMs,
    creationS: creationSeconds(csv, o.calls),
    stats: row,
    args,
  };
}

export interface Uas {
  readonly process: Managed;
  /** SIGTERM once the caller is done; resolves with SIPp's counters. */
  stop(): Promise<Record<string, string>>;
}

/** Start the callee on 127.0.0.1:`port`; it answers every call until stop() (or `timeoutS`). */
export function startUas(o: { port: number; scenario: string; dir: string; timeoutS: number }): Uas {
  const stats = join(o.dir, 'uas-stats.csv');
  const args = [
    '-sf',
    o.scenario,
    '-t',
    'u1',
    '-i',
    '127.0.0.1',
    '-p',
    String(o.port),
    '-timeout',
    `${o.timeoutS}s`,
    '-nostdin',
    '-buff_size',
    SOCKET_BUFFER,
    // An INVITE retransmitted by a slow element after this side answered is logged and ignored (the 200
    // keeps being retransmitted until the ACK), as a UA would absorb it; SIPp 3.6 would abort the call.
    '-default_behaviors',
    'all,-abortunexp',
    '-trace_stat',
    '-stf',
    stats,
    '-fd',
    '1',
    '-trace_err',
    '-error_file',
    join(o.dir, 'uas-errors.log'),
  ];
  const m = spawnManaged('sipp-uas', 'sipp', args, { cwd: o.dir, logFile: join(o.dir, 'uas.log') });
  return {
    process: m,
    async stop() {
      await stopManaged(m, 'SIGTERM', 3000);
      return lastStatsRow(await readFile(stats, 'utf8').catch(() => ''));
    },
  };
}

/** p50/p90/p99/max of SIPp response times, ms. */
export function rttSummary(rtt: Float64Array): { p50: number; p90: number; p99: number; max: number } {
  return {
    p50: quantileOfSorted(rtt, 0.5),
    p90: quantileOfSorted(rtt, 0.9),
    p99: quantileOfSorted(rtt, 0.99),
    max: rtt.length ? rtt[rtt.length - 1]! : Number.NaN,
  };
}
