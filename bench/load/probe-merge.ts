/**
 * The probe's view of a whole element: one snapshot per process (element-probe.ts) merged into one. A
 * single-process Stirgate has one probe; in cluster mode (`workers: N`) the primary answers on the base port
 * and worker k on base + 1 + k, and the bench merges:
 *
 * - histograms (signing core, verification, INVITE in→out, raw crypto.sign): exactly, from the raw buckets
 * - counters (outcomes, calls started / ended / active), process.memoryUsage(), GC count and total: summed;
 *   longest GC pause: the max over processes
 * - event loop (delay, utilisation): over the call-handling processes (the workers; the primary handles no
 *   SIP): delay p99 and max the max over workers; utilisation the max over workers, and the mean next to it
 * - raw crypto.sign: from the workers only (the primary's would time ECDSA on an idle loop)
 */
import type { ProbeSnapshot } from './element-probe.js';
import { type HistogramSummary, LogHistogram } from './log-histogram.js';

/** One cluster worker's own figures, to see how the load was shared. */
export interface WorkerProbe {
  readonly index: number;
  readonly pid: number;
  readonly callsStarted: number;
  readonly eventLoopUtilization: number;
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly gcTotalMs: number;
  readonly heapUsed: number;
  /** Datagrams this worker read and forwarded to the owner of their Call-ID / received from another worker. */
  readonly forwarded: number;
  readonly received: number;
}

/** The merged view (what a step records); the per-process snapshot without its raw buckets. */
export interface ElementProbe extends Omit<ProbeSnapshot, 'raw' | 'pid' | 'workerIndex'> {
  /** Processes that answered (1 for a single process; primary + workers in cluster mode). */
  readonly processes: number;
  /** Processes asked. */
  readonly expected: number;
  /** Mean event-loop utilisation over the call-handling processes (`eventLoopUtilization` is their max). */
  readonly eventLoopUtilizationMean: number;
  /** Cluster mode: each worker's figures. */
  readonly workers?: readonly WorkerProbe[];
}

function sumRecord(parts: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function mergedSummary(parts: readonly ProbeSnapshot[], key: keyof ProbeSnapshot['raw']): HistogramSummary {
  return LogHistogram.merged(parts.map((p) => p.raw[key])).summary();
}

/**
 * Merge the snapshots of one element's processes. `snaps[0]` is the primary / single process (base port),
 * `snaps[1 + k]` worker k; undefined where a probe did not answer. Undefined when none answered.
 */
export function mergeProbes(snaps: readonly (ProbeSnapshot | undefined)[]): ElementProbe | undefined {
  const all = snaps.filter((x): x is ProbeSnapshot => x !== undefined);
  if (all.length === 0) return undefined;
  const cluster = snaps.length > 1;
  // The processes that handle calls: the workers in cluster mode, else the one process.
  const callers = cluster ? all.filter((x) => x.workerIndex !== undefined) : all;
  const loop = callers.length > 0 ? callers : all;
  const sum = (f: (x: ProbeSnapshot) => number) => all.reduce((a, x) => a + f(x), 0);
  const max = (xs: readonly ProbeSnapshot[], f: (x: ProbeSnapshot) => number) =>
    xs.reduce((a, x) => Math.max(a, f(x)), 0);
  const memory: NodeJS.MemoryUsage = {
    rss: sum((x) => x.memory.rss),
    heapTotal: sum((x) => x.memory.heapTotal),
    heapUsed: sum((x) => x.memory.heapUsed),
    external: sum((x) => x.memory.external),
    arrayBuffers: sum((x) => x.memory.arrayBuffers),
  };
  const elu = loop.map((x) => x.eventLoopUtilization);
  return {
    processes: all.length,
    expected: snaps.length,
    sign: mergedSummary(all, 'sign'),
    verify: mergedSummary(all, 'verify'),
    forwarded: mergedSummary(all, 'forwarded'),
    rawSign: mergedSummary(loop, 'rawSign'),
    outcomes: sumRecord(all.map((x) => x.outcomes)),
    callsStarted: sum((x) => x.callsStarted),
    callsEnded: sum((x) => x.callsEnded),
    callsActive: sum((x) => x.callsActive),
    memory,
    eventLoopUtilization: Math.max(...elu),
    eventLoopUtilizationMean: elu.reduce((a, b) => a + b, 0) / elu.length,
    loopDelayMs: {
      // A percentile of several loops is not recoverable from theirs: the worst loop's, as the task names.
      p50: max(loop, (x) => x.loopDelayMs.p50),
      p99: max(loop, (x) => x.loopDelayMs.p99),
      max: max(loop, (x) => x.loopDelayMs.max),
    },
    gc: {
      count: sum((x) => x.gc.count),
      totalMs: sum((x) => x.gc.totalMs),
      maxMs: max(all, (x) => x.gc.maxMs),
    },
    ...(cluster
      ? {
          workers: callers
            .map((x) => ({
              index: x.workerIndex!,
              pid: x.pid,
              callsStarted: x.callsStarted,
              eventLoopUtilization: x.eventLoopUtilization,
              loopDelayP99Ms: x.loopDelayMs.p99,
              loopDelayMaxMs: x.loopDelayMs.max,
              gcTotalMs: x.gc.totalMs,
              heapUsed: x.memory.heapUsed,
              forwarded: x.outcomes['cluster:forwarded'] ?? 0,
              received: x.outcomes['cluster:received'] ?? 0,
            }))
            .sort((a, b) => a.index - b.index),
        }
      : {}),
  };
}
