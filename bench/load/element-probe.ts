/**
 * Preloaded into the Stirgate process under test (`node --import <this file> dist/src/main.js ...`) by the
 * load bench. It subscribes to the events the core already publishes on node:diagnostics_channel and keeps
 * exact-enough distributions (log-histogram.ts, ±1 %), so the bench reads per-call timings that do not
 * depend on the /metrics histogram buckets (and works before /metrics is wired):
 *
 * - `stirgate:stir:sign`        signing core: PASSporT build + ES256 until the callback (Signer)
 * - `stirgate:stir:verify`      verification service, by outcome code
 * - `stirgate:call:forwarded`   initial INVITE received -> B-leg INVITE handed to the transaction layer
 * - `stirgate:call:started` / `stirgate:call:ended`   calls in progress
 * - raw ECDSA under the same load: 50 times a second the probe signs a PASSporT-sized input with its own
 *   P-256 key (synchronous `crypto.sign`, as the Signer does), on the same event loop, so the signing core
 *   can be compared with bare ECDSA suffering the same GC pauses, preemption and cache pressure
 *
 * - `stirgate:cluster:datagram` / `stirgate:cluster:replay_check` (cluster mode): counted in `outcomes` as
 *   `cluster:<outcome>` / `replay:<outcome>`
 *
 * Control on a loopback HTTP port taken from STIRGATE_BENCH_PROBE (`127.0.0.1:PORT`). In cluster mode
 * (`workers: N`) every process preloads this file: the primary (and a single-process Stirgate) listens on
 * PORT, worker k (env STIRGATE_WORKER_INDEX=k) on PORT+1+k, with `exclusive: true` (in a cluster worker a
 * plain listen would be shared through the primary and round-robin between the processes). The bench asks
 * every process and merges (probe-merge.ts); the snapshot carries the raw histogram buckets for that.
 * `GET /snapshot` (JSON), `GET /reset` (clears the histograms and counters, keeps the active-call count),
 * `GET /gc` (runs a full GC when node has --expose-gc, then answers like /snapshot), `GET /gc-reduce` (the
 * memory-reducing full GC V8 runs under memory pressure, then answers like /snapshot), `GET /heap?file=PATH`
 * (writes a V8 heap snapshot to PATH, for bench/load/heap-snapshot.ts; answers `{ "file": PATH }`).
 * Bench code only: nothing in src imports it.
 */
import { sign as cryptoSign, generateKeyPairSync } from 'node:crypto';
import dgram from 'node:dgram';
import diagnostics_channel from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import type { SignEvent, VerifyEvent } from '../../src/events.js';
import { type HistogramData, type HistogramSummary, LogHistogram } from './log-histogram.js';

/** What GET /snapshot answers (one process). */
export interface ProbeSnapshot {
  readonly pid: number;
  /** Cluster mode: this worker's index (STIRGATE_WORKER_INDEX); absent in the primary and a single process. */
  readonly workerIndex?: number;
  readonly sign: HistogramSummary;
  readonly verify: HistogramSummary;
  readonly forwarded: HistogramSummary;
  /** Bare synchronous ES256 signatures timed in this process while it runs the step (see above). */
  readonly rawSign: HistogramSummary;
  /** Sign outcomes (`signed`, `failed`) and verification codes (`passed`, ...) since the last reset. */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly callsStarted: number;
  readonly callsEnded: number;
  /** Calls started and not ended since the process started. */
  readonly callsActive: number;
  /** process.memoryUsage(), bytes. */
  readonly memory: NodeJS.MemoryUsage;
  /** Event-loop utilisation (0..1) since the last reset. */
  readonly eventLoopUtilization: number;
  /**
   * Event-loop delay since the last reset, ms: how late a 10 ms timer ran (monitorEventLoopDelay records the
   * whole interval; the probe subtracts the 10 ms, so an idle loop reads ~0).
   */
  readonly loopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Garbage collections since the last reset: count, total and longest pause, ms. */
  readonly gc: { readonly count: number; readonly totalMs: number; readonly maxMs: number };
  /** The histograms' raw buckets, so the bench merges several processes exactly. */
  readonly raw: {
    readonly sign: HistogramData;
    readonly verify: HistogramData;
    readonly forwarded: HistogramData;
    readonly rawSign: HistogramData;
  };
}

// Experiment only (run.ts --stirgate-rcvbuf=BYTES, never for the headline figures): give every UDP socket
// Stirgate opens this SO_RCVBUF, to measure how much of its loss comes from the receive buffer overflowing.
const rcvbuf = Number(process.env.STIRGATE_BENCH_RCVBUF ?? 0);
if (rcvbuf > 0) {
  const original = dgram.createSocket;
  const patched = ((options: dgram.SocketOptions | dgram.SocketType, listener?: never) =>
    original(
      typeof options === 'string'
        ? { type: options, recvBufferSize: rcvbuf }
        : { ...options, recvBufferSize: rcvbuf },
      listener,
    )) as typeof dgram.createSocket;
  dgram.createSocket = patched;
  syncBuiltinESMExports();
}

interface ForwardedEvent {
  readonly durationNs: number;
}

const sign = new LogHistogram();
const verify = new LogHistogram();
const forwarded = new LogHistogram();
const rawSign = new LogHistogram();
{
  const key = {
    key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    dsaEncoding: 'ieee-p1363' as const,
  };
  // The size of a SHAKEN signing input (protected header + claims, base64url): about 300 octets.
  const input = Buffer.alloc(300, 0x41);
  setInterval(() => {
    const t0 = process.hrtime.bigint();
    cryptoSign('sha256', input, key);
    rawSign.record(Number(process.hrtime.bigint() - t0));
  }, 20).unref();
}
let outcomes: Record<string, number> = {};
let started = 0;
let ended = 0;
let active = 0;
let eluStart = performance.eventLoopUtilization();
const LOOP_DELAY_RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
loopDelay.enable();
/** The histogram holds whole timer intervals (an idle loop reads ~10 ms): keep only how late the timer ran. */
const lateMs = (ns: number) => Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS);
let gc = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count++;
    gc.totalMs += entry.duration;
    if (entry.duration > gc.maxMs) gc.maxMs = entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

const count = (key: string): void => {
  outcomes[key] = (outcomes[key] ?? 0) + 1;
};

diagnostics_channel.subscribe('stirgate:stir:sign', (message) => {
  const ev = message as SignEvent;
  sign.record(ev.durationNs);
  count(`sign:${ev.outcome}`);
});
diagnostics_channel.subscribe('stirgate:stir:verify', (message) => {
  const ev = message as VerifyEvent;
  verify.record(ev.durationNs);
  count(`verify:${ev.code}`);
});
diagnostics_channel.subscribe('stirgate:call:forwarded', (message) => {
  forwarded.record((message as ForwardedEvent).durationNs);
});
diagnostics_channel.subscribe('stirgate:cluster:datagram', (message) => {
  count(`cluster:${(message as { outcome: string }).outcome}`);
});
diagnostics_channel.subscribe('stirgate:cluster:replay_check', (message) => {
  count(`replay:${(message as { outcome: string }).outcome}`);
});
diagnostics_channel.subscribe('stirgate:call:started', () => {
  started++;
  active++;
});
diagnostics_channel.subscribe('stirgate:call:ended', () => {
  ended++;
  active--;
});

const workerEnv = process.env.STIRGATE_WORKER_INDEX;
const workerIndex = workerEnv !== undefined && /^\d+$/.test(workerEnv) ? Number(workerEnv) : undefined;

function snapshot(): ProbeSnapshot {
  return {
    pid: process.pid,
    ...(workerIndex !== undefined ? { workerIndex } : {}),
    sign: sign.summary(),
    verify: verify.summary(),
    forwarded: forwarded.summary(),
    rawSign: rawSign.summary(),
    outcomes: { ...outcomes },
    callsStarted: started,
    callsEnded: ended,
    callsActive: active,
    memory: process.memoryUsage(),
    eventLoopUtilization: performance.eventLoopUtilization(eluStart).utilization,
    loopDelayMs: {
      p50: lateMs(loopDelay.percentile(50)),
      p99: lateMs(loopDelay.percentile(99)),
      max: lateMs(loopDelay.max),
    },
    gc: { count: gc.count, totalMs: Math.round(gc.totalMs), maxMs: Math.round(gc.maxMs * 10) / 10 },
    raw: { sign: sign.data(), verify: verify.data(), forwarded: forwarded.data(), rawSign: rawSign.data() },
  };
}

const at = process.env.STIRGATE_BENCH_PROBE;
if (at !== undefined && at !== '') {
  const colon = at.lastIndexOf(':');
  const host = at.slice(0, colon);
  // The primary (or the single process) on the base port, worker k on base + 1 + k.
  const port = Number(at.slice(colon + 1)) + (workerIndex === undefined ? 0 : 1 + workerIndex);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://probe');
    const path = url.pathname;
    if (path === '/heap') {
      const file = writeHeapSnapshot(url.searchParams.get('file') ?? undefined);
      const body = JSON.stringify({ file });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
      return;
    }
    if (path === '/reset') {
      sign.reset();
      verify.reset();
      forwarded.reset();
      rawSign.reset();
      outcomes = {};
      started = 0;
      ended = 0;
      eluStart = performance.eventLoopUtilization();
      loopDelay.reset();
      gc = { count: 0, totalMs: 0, maxMs: 0 };
    } else if (path === '/gc') {
      (globalThis as { gc?: () => void }).gc?.();
    } else if (path === '/gc-reduce') {
      // What V8 does under memory pressure (and its memory reducer when the process goes quiet): a full GC
      // that compacts and gives back the pages it can, not only marks and sweeps.
      (globalThis as { gc?: (o: object) => void }).gc?.({
        type: 'major',
        execution: 'sync',
        flavor: 'last-resort',
      });
    } else if (path !== '/snapshot') {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.stringify(snapshot());
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  // exclusive: a cluster worker's plain listen is shared through the primary (round-robin between processes).
  server.on('error', (err) =>
    console.error(`element-probe: cannot listen on ${host}:${port}: ${err.message}`),
  );
  server.listen({ port, host, exclusive: true });
  server.unref();
}
