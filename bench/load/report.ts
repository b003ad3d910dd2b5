/**
 * The load bench's side-by-side table (printed) and the "Load" section of docs/performance.md (written
 * between `<!-- load:start -->` and `<!-- load:end -->`; every other section is left as it is).
 */

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UDP_SOCKET_BUFFER_BYTES } from '../../src/sip/transport/udp-transport.js';
import type { ProfileSummary } from './cpu-profile.js';
import type { Mode } from './elements.js';
import type { HeapClass } from './heap-snapshot.js';
import type { MemoryResult } from './memory.js';
import type { ElementProbe } from './probe-merge.js';
import type { ProfileResult, RawCrypto } from './profile.js';
import { FIXED_RATES, type RampResult } from './ramp.js';
import type { Environment } from './run.js';
import { type SignatureCheckResult, signatureCheckLines } from './signature-check.js';
import { cpuPerCallUs, type StepResult } from './step.js';

export interface LoadReport {
  readonly env: Environment;
  readonly settings: {
    readonly quick: boolean;
    readonly stepS: number;
    readonly latencyS: number;
    readonly pauseMs: number;
    readonly rates: readonly number[];
    readonly heldCalls: number;
    readonly kamailioWorkers: number;
    readonly kamailioShmMb: number;
    /** Stirgate `workers` (absent in reports written before cluster mode: 1). */
    readonly stirgateWorkers?: number;
    /** Stirgate `traceback.enabled` (absent in reports written before traceback: off). */
    readonly traceback?: boolean;
    readonly stirgateRcvbuf: number;
  };
  readonly raw: RawCrypto;
  readonly ramps: readonly RampResult[];
  readonly memory?: MemoryResult;
  /** Heap growth per held call by constructor (heap snapshots of a smaller held-calls run). */
  readonly heapPerCall?: {
    readonly calls: number;
    readonly rows: readonly HeapClass[];
    readonly idleHeapBytes: number;
    readonly heldHeapBytes: number;
    /** Heap after a full GC, seconds after the calls ended. */
    readonly afterEnd: readonly { readonly s: number; readonly heapBytes: number }[];
  };
  /** Verification with the signature check on the event loop and on the threadpool, alternated. */
  readonly signatureCheck?: SignatureCheckResult;
  readonly profiles: readonly ProfileResult[];
  readonly elapsedS: number;
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const fix = (n: number | undefined, digits = 2) =>
  n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : '-';
const mib = (kb: number) => `${(kb / 1024).toFixed(1)} MiB`;
const ok = (pass: boolean | undefined) => (pass === undefined ? 'not measured' : pass ? 'met' : '**missed**');

/** Stirgate's SIP worker processes in this report (1: one process, as before cluster mode). */
const workersOf = (r: LoadReport) => r.settings.stirgateWorkers ?? 1;
/** How Stirgate's memory was measured: RSS of its one process, or PSS summed over primary + workers. */
const memOf = (r: LoadReport) => (workersOf(r) > 1 ? 'PSS' : 'RSS');
const memWhat = (r: LoadReport) =>
  workersOf(r) > 1 ? `PSS summed over the primary and its ${workersOf(r)} workers` : 'RSS of its process';

/** Event-loop utilisation: the process's, or with workers the busiest worker's and the mean. */
function busyText(r: LoadReport, p: ElementProbe): string {
  const max = `${(100 * p.eventLoopUtilization).toFixed(0)} %`;
  return workersOf(r) > 1 && p.eventLoopUtilizationMean !== undefined
    ? `${max} (busiest worker; mean ${(100 * p.eventLoopUtilizationMean).toFixed(0)} %)`
    : max;
}

function rampOf(r: LoadReport, element: 'kamailio' | 'stirgate', mode: Mode): RampResult | undefined {
  return r.ramps.find((x) => x.element === element && x.mode === mode);
}

function stepAtMax(ramp: RampResult | undefined): StepResult | undefined {
  return ramp?.steps.find((s) => s.rate === ramp.maxRate && s.pass);
}

/** Throughput ratio Stirgate / Kamailio for a mode, when both were measured. */
function ratio(r: LoadReport, mode: Mode): number | undefined {
  const k = rampOf(r, 'kamailio', mode)?.maxRate;
  const s = rampOf(r, 'stirgate', mode)?.maxRate;
  return k && s !== undefined ? s / k : undefined;
}

/** INVITE added latency p99, ms: SIPp INVITE->200 p99 through the element minus SIPp to SIPp at the same rate. */
function addedP99(ramp: RampResult | undefined): number | undefined {
  if (ramp?.half === undefined || ramp.direct === undefined) return undefined;
  return ramp.half.rtt.p99 - ramp.direct.rtt.p99;
}

export interface Targets {
  readonly signRatio: boolean | undefined;
  readonly verifyRatio: boolean | undefined;
  readonly signCore: boolean | undefined;
  readonly addedLatency: boolean | undefined;
  readonly memory: boolean | undefined;
}

export function targets(r: LoadReport): Targets {
  const signR = ratio(r, 'sign');
  const verifyR = ratio(r, 'verify');
  const core = rampOf(r, 'stirgate', 'sign')?.half?.probe?.sign;
  const added = ['sign', 'verify']
    .map((m) => addedP99(rampOf(r, 'stirgate', m as Mode)))
    .filter((x): x is number => x !== undefined);
  return {
    signRatio: signR === undefined ? undefined : signR >= 1.0,
    verifyRatio: verifyR === undefined ? undefined : verifyR >= 1.5,
    // Stirgate signs synchronously (src/stir/signer.ts), so its baseline is the synchronous crypto.sign, timed
    // inside the element during the same step (same GC pauses and preemption) when the probe has it.
    signCore: core?.count ? core.p99Us <= 2 * rawBaselineP99(r) : undefined,
    addedLatency: added.length ? added.every((a) => a < 5) : undefined,
    // Judged on the established calls once their setup transactions have ended (see memoryLines).
    // Judged on what the established calls hold once V8 has compacted away the free space the setup burst
    // left (memoryLines shows the figure before that too); reports without it are judged as before.
    memory: r.memory ? establishedPerCall(r.memory) < 4096 : undefined,
  };
}

function summaryTable(r: LoadReport): string[] {
  const lines = [
    '| | Kamailio + secsipid | Stirgate | Stirgate / Kamailio | target |',
    '|---|---|---|---|---|',
  ];
  for (const mode of ['sign', 'verify'] as const) {
    const k = rampOf(r, 'kamailio', mode);
    const s = rampOf(r, 'stirgate', mode);
    if (k === undefined && s === undefined) continue;
    const rr = ratio(r, mode);
    const max = (x: RampResult | undefined) =>
      x === undefined
        ? '-'
        : `**${int(x.maxRate)}**${x.firstFail !== undefined ? ` (${int(x.firstFail)} failed)` : ''}`;
    lines.push(
      `| ${mode}: max calls/s (${r.settings.stepS} s, < 0.1 % failed, p99 < 500 ms) | ${max(k)} | ${max(s)} | ` +
        `${rr === undefined ? '-' : `**${rr.toFixed(2)}×**`} | ≥ ${mode === 'sign' ? '1.0' : '1.5'}× |`,
    );
    const km = stepAtMax(k);
    const sm = stepAtMax(s);
    lines.push(
      `| ${mode}: CPU at max, cores (element / SIPp caller / SIPp callee) | ${cpu(km)} | ${cpu(sm)} | | |`,
      `| ${mode}: memory at max | ${km ? `${mib(km.memoryKb)} PSS` : '-'} | ${sm ? `${mib(sm.memoryKb)} ${memOf(r)}` : '-'} | | |`,
      `| ${mode}: INVITE→200 p50 / p99 at half of max, ms | ${lat(k)} | ${lat(s)} | | |`,
      `| ${mode}: same rate SIPp→SIPp direct, ms | ${lat(k, true)} | ${lat(s, true)} | | |`,
    );
    // CPU per call at equal load (issue 19): the element's cores over the step divided by the rate.
    for (const rate of FIXED_RATES) {
      const kc = perCallUs(k, rate);
      const sc = perCallUs(s, rate);
      lines.push(
        `| ${mode}: element CPU per call at ${int(rate)} calls/s, µs | ${kc === undefined ? '-' : int(kc)} | ${sc === undefined ? '-' : int(sc)} | ` +
          `${kc !== undefined && sc !== undefined ? `${(sc / kc).toFixed(2)}×` : '-'} | ≤ 1.0× |`,
      );
    }
  }
  return lines;
}

/** The element's CPU per call (µs of CPU time) in the ramp's passing step at `rate`, if there is one. */
function perCallUs(ramp: RampResult | undefined, rate: number): number | undefined {
  const step = ramp?.fixed?.find((x) => x.rate === rate);
  return step === undefined ? undefined : cpuPerCallUs(step);
}

function cpu(s: StepResult | undefined): string {
  return s ? `${fix(s.cpu.element)} / ${fix(s.cpu.uac)} / ${fix(s.cpu.uas)}` : '-';
}

function lat(ramp: RampResult | undefined, direct = false): string {
  const s = direct ? ramp?.direct : ramp?.half;
  return s ? `${s.rtt.p50} / ${s.rtt.p99} (${int(s.rate)}/s)` : '-';
}

function targetTable(r: LoadReport): string[] {
  const t = targets(r);
  const signR = ratio(r, 'sign');
  const verifyR = ratio(r, 'verify');
  const sHalf = rampOf(r, 'stirgate', 'sign')?.half;
  const core = sHalf?.probe?.sign;
  const addedSign = addedP99(rampOf(r, 'stirgate', 'sign'));
  const addedVerify = addedP99(rampOf(r, 'stirgate', 'verify'));
  const m = r.memory;
  return [
    '| Target (issue 7) | Measured | |',
    '|---|---|---|',
    `| Signing ≥ 1.0× Kamailio | ${signR === undefined ? '-' : `${signR.toFixed(2)}×`} | ${ok(t.signRatio)} |`,
    `| Verifying ≥ 1.5× Kamailio | ${verifyR === undefined ? '-' : `${verifyR.toFixed(2)}×`} | ${ok(t.verifyRatio)} |`,
    `| Signing-core p99 ≤ 2× raw ECDSA (${rawBaselineText(r)}) | ` +
      `${core?.count ? `${core.p99Us} µs (${(core.p99Us / rawBaselineP99(r)).toFixed(2)}×) at ${int(sHalf!.rate)}/s` : '-'} | ${ok(t.signCore)} |`,
    `| INVITE added latency p99 < 5 ms at half of max | sign ${addedSign ?? '-'} ms, verify ${addedVerify ?? '-'} ms | ${ok(t.addedLatency)} |`,
    `| < 4 KiB RSS per active call | ${m ? `${kib(establishedPerCall(m))} established${m.reducedRssPerCallBytes !== undefined ? ` after V8's memory-reducing GC (${kib(m.steadyRssPerCallBytes)} after a plain full GC, the heap still at the size the setup burst grew it to)` : ''} (${kib(m.rssPerCallBytes)} while the setup transactions wait)${m.memoryMethod === 'PSS' ? `; ${memWhat(r)}` : ''}` : '-'} | ${ok(t.memory)} |`,
  ];
}

function coreLines(r: LoadReport): string[] {
  const out: string[] = [];
  for (const mode of ['sign', 'verify'] as const) {
    const h = rampOf(r, 'stirgate', mode)?.half;
    const p = h?.probe;
    if (h === undefined || p === undefined) continue;
    const core = mode === 'sign' ? p.sign : p.verify;
    const m = h.metrics;
    const fromMetrics =
      mode === 'sign' && m?.signP50Us !== undefined
        ? `; from /metrics \`stirgate_stir_sign_duration_seconds\`: p50 ${m.signP50Us} µs, p99 ${m.signP99Us} µs`
        : '';
    const inviteMetrics =
      m?.inviteP50Us !== undefined
        ? `; /metrics \`stirgate_invite_processing_seconds\`: p50 ${m.inviteP50Us} µs, p99 ${m.inviteP99Us} µs`
        : '';
    out.push(
      `- Stirgate ${mode} at ${int(h.rate)} calls/s (half of max): ${mode === 'sign' ? 'signing core' : 'verification'} ` +
        `p50 ${core.p50Us} µs, p90 ${core.p90Us} µs, p99 ${core.p99Us} µs over ${int(core.count)} calls${fromMetrics}. ` +
        `INVITE in → B-leg INVITE out p50 ${p.forwarded.p50Us} µs, p99 ${p.forwarded.p99Us} µs${inviteMetrics}. ` +
        `Event loop busy ${busyText(r, p)}.`,
    );
  }
  const inEl = rawInElement(r);
  if (inEl !== undefined)
    out.push(
      `- Raw synchronous \`crypto.sign\` inside Stirgate${workersOf(r) > 1 ? `'s ${workersOf(r)} workers` : ''} during that half-load sign step (the probe, 50/s${workersOf(r) > 1 ? ' in each' : ''}, ` +
        `PASSporT-sized input, its own P-256 key): p50 ${inEl.p50Us} µs, p99 ${inEl.p99Us} µs over ${int(inEl.count)}.`,
    );
  out.push(
    `- Raw \`crypto.sign\` (P-256, SHA-256, same key and signing-input size, in the bench process while idle): ` +
      `callback p50 ${r.raw.asyncP50Us} µs, p99 ${r.raw.asyncP99Us} µs; synchronous p50 ${r.raw.syncP50Us} µs, ` +
      `p99 ${r.raw.syncP99Us} µs.`,
  );
  return out;
}

function stepsTable(r: LoadReport): string[] {
  const lines = [
    '| element | mode | step | calls/s | calls | failed + unfinished | retrans. | INVITE→200 p50 / p99 ms | CPU element / caller / callee | UDP drops element / caller / callee | memory | verdict |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const row = (s: StepResult) =>
    `| ${s.element} | ${s.mode} | ${s.label.replace(/^.*-(?=(refine-|half-)?\d+$)/, '') || s.label} | ${int(s.rate)} | ` +
    `${int(s.calls)} | ${s.failed + s.incomplete} | ${int(s.retransmissions)} | ${s.rtt.p50} / ${s.rtt.p99} | ` +
    `${cpu(s)} | ${s.udpDrops.element} / ${s.udpDrops.uac} / ${s.udpDrops.uas} | ` +
    `${s.memoryKb ? mib(s.memoryKb) : '-'} | ${s.pass ? 'pass' : `fail: ${s.why}`} |`;
  const printed = new Set<StepResult>();
  for (const ramp of r.ramps) {
    for (const s of [...ramp.steps, ...(ramp.direct ? [ramp.direct] : [])]) {
      if (printed.has(s)) continue;
      printed.add(s);
      lines.push(row(s));
    }
  }
  return lines;
}

/** Stirgate's own view of each step (probe): where its time went. */
function internalsTable(r: LoadReport): string[] {
  const rows: string[] = [];
  for (const ramp of r.ramps) {
    if (ramp.element !== 'stirgate') continue;
    for (const s of ramp.steps) {
      const p = s.probe;
      if (p === undefined) continue;
      const core = s.mode === 'sign' ? p.sign : p.verify;
      rows.push(
        `| ${s.mode} | ${int(s.rate)} | ${busyText(r, p)} | ` +
          `${fix(p.loopDelayMs.p99, 0)} / ${fix(p.loopDelayMs.max, 0)} | ${p.gc.count} / ${int(p.gc.totalMs)} / ${p.gc.maxMs} | ` +
          `${mib(s.memoryKb)} | ${core.p50Us} / ${core.p99Us} | ${p.forwarded.p50Us} / ${p.forwarded.p99Us} | ` +
          `${s.udpDrops.element} |`,
      );
    }
  }
  if (rows.length === 0) return [];
  return [
    workersOf(r) > 1
      ? `Stirgate per step, from the probe in each of its processes (primary + ${workersOf(r)} workers: timings merged, ` +
        'GC summed, event loop the busiest worker and loop delay the worst worker) and /proc:'
      : 'Stirgate per step, from the probe (event loop, GC, its own timings) and /proc:',
    '',
    `| mode | calls/s | event loop busy | loop late p99 / max ms | GC count / total ms / longest ms | ${memOf(r)} after | sign or verify p50 / p99 µs | INVITE in→out p50 / p99 µs | UDP drops at its socket |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ];
}

/** What the measurements say limits Stirgate, read off the figures by fixed rules (no judgement calls). */
function diagnosisLines(r: LoadReport): string[] {
  const out: string[] = [];
  for (const ramp of r.ramps) {
    if (ramp.element !== 'stirgate' || ramp.firstFail === undefined) continue;
    const fail = ramp.steps.find((s) => s.rate === ramp.firstFail && !s.pass);
    const p = fail?.probe;
    if (fail === undefined || p === undefined) continue;
    const passDrops = ramp.steps.filter((s) => s.pass).reduce((a, s) => a + s.udpDrops.element, 0);
    const busy = 100 * p.eventLoopUtilization;
    const parts = [
      `Stirgate ${ramp.mode} at ${int(fail.rate)} calls/s (${fail.why}): ${int(fail.udpDrops.element)} datagrams dropped ` +
        `at its socket because the receive buffer was full (${int(passDrops)} in the passing steps); event loop busy ` +
        `${busyText(r, p)}, longest loop delay ${fix(p.loopDelayMs.max, 0)} ms; GC ${int(p.gc.totalMs)} ms in ${p.gc.count} ` +
        `pauses (longest ${p.gc.maxMs} ms); ${memOf(r)} ${mib(fail.memoryKb)} after the step.`,
    ];
    if (fail.udpDrops.element > 0 && busy < 80)
      parts.push(
        'The loop was not saturated: datagrams were lost during pauses longer than the socket buffer ' +
          `(${int(r.env.rmemDefault)} bytes, the system default) can absorb, and each loss costs the call a ` +
          '500 ms retransmission (T1).',
      );
    else if (busy >= 90)
      parts.push(
        workersOf(r) > 1 ? "A worker's main thread was saturated." : 'The main thread was saturated.',
      );
    else if (fail.udpDrops.element === 0)
      parts.push(
        'No datagram was lost: requests queued behind a busy event loop (stalls up to ' +
          `${fix(p.loopDelayMs.max, 0)} ms) until callers retransmitted.`,
      );
    out.push(`- ${parts.join(' ')}`);
  }
  const m = r.memory;
  if (m !== undefined && m.afterRssKb >= 0.9 * m.heldRssKb)
    out.push(
      `- ${m.memoryMethod ?? 'RSS'} did not come back when the ${int(m.heldCalls)} held calls ended (${mib(m.heldRssKb)} held, ` +
        `${mib(m.afterRssKb)} just after): the state of ended calls stays reachable for a while.`,
    );
  return out.length ? ['What the figures say limits Stirgate:', '', ...out, ''] : [];
}

/** Raw synchronous crypto.sign p99 inside Stirgate during its half-load sign step, µs (undefined: not measured). */
function rawInElement(r: LoadReport): { p50Us: number; p99Us: number; count: number } | undefined {
  const raw = rampOf(r, 'stirgate', 'sign')?.half?.probe?.rawSign;
  return raw?.count ? raw : undefined;
}

/** The signing-core baseline: raw ECDSA in the element under the same load, else in the idle bench process. */
function rawBaselineP99(r: LoadReport): number {
  return rawInElement(r)?.p99Us ?? r.raw.syncP99Us;
}

function rawBaselineText(r: LoadReport): string {
  const inEl = rawInElement(r);
  return inEl !== undefined
    ? `synchronous crypto.sign timed inside Stirgate during the same step: p99 ${inEl.p99Us} µs; idle, in the bench process: ${r.raw.syncP99Us} µs`
    : `synchronous crypto.sign p99 ${r.raw.syncP99Us} µs`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(2)} KiB`;
}

function memoryLines(r: LoadReport): string[] {
  const m = r.memory;
  if (m === undefined) return [];
  // RSS of the single process, or PSS summed over the cluster primary and its workers (workers > 1).
  const x = m.memoryMethod ?? 'RSS';
  const sum = m.rssSum;
  return [
    `- ${int(m.heldCalls)} established calls held through Stirgate (signing trunk; SIPp caller with a long pause, ` +
      `callee answering; ${int(m.successful)} completed, ${int(m.failed)} failed afterwards)` +
      `${x === 'PSS' ? `; memory is the ${m.processes !== undefined ? `${m.processes} processes' ` : ''}PSS summed (primary and workers, shared pages counted once), V8 heap summed over them` : ''}.`,
    `- 2 s after the last call was set up (its INVITE transactions still in RFC 6026 Accepted, Timer L/M): ` +
      `${x} idle ${mib(m.idleRssKb)}, with the calls ${mib(m.heldRssKb)}: ${kib(m.rssPerCallBytes)} ${x} per call; ` +
      `V8 heap after a full GC idle ${mib(m.idleHeapGcBytes / 1024)}, held ${mib(m.heldHeapGcBytes / 1024)}: ` +
      `${kib(m.heapPerCallBytes)} per call. That share is per call set up in the last 64*T1 (it scales with the ` +
      `call rate, not with the calls held).`,
    `- ${m.steadyAfterS} s later, ${int(m.steadyHeldCalls)} calls still established and every setup transaction ` +
      `ended: ${x} ${mib(m.steadyRssBeforeGcKb)} (${kib(((m.steadyRssBeforeGcKb - m.idleRssKb) * 1024) / Math.max(1, m.steadyHeldCalls))} ` +
      `per call, V8 still at the size the setup burst grew it to), after a full GC ${mib(m.steadyRssKb)}: ` +
      `**${kib(m.steadyRssPerCallBytes)} ${x} per established call**; V8 heap used ` +
      `${mib(m.steadyHeapGcBytes / 1024)}: ${kib(m.steadyHeapPerCallBytes)} per call.` +
      `${sum !== undefined ? ` RSS summed over the processes (shared pages counted in each): idle ${mib(sum.idleKb)}, held ${mib(sum.heldKb)}, established after the GC ${mib(sum.steadyKb)} (${kib(((sum.steadyKb - sum.idleKb) * 1024) / Math.max(1, m.steadyHeldCalls))} per call).` : ''}`,
    ...(m.reducedRssKb !== undefined && m.reducedRssPerCallBytes !== undefined
      ? [
          `- The same calls after the full GC V8 runs under memory pressure (\`gc({flavor: 'last-resort'})\`: it ` +
            `compacts the pages the setup transactions left half empty and gives them back): ${x} ${mib(m.reducedRssKb)}, ` +
            `**${kib(m.reducedRssPerCallBytes)} ${x} per established call**; V8 heap reserved ` +
            `${mib((m.steadyHeapTotalBytes ?? 0) / 1024)} before it, ${mib((m.reducedHeapTotalBytes ?? 0) / 1024)} after. ` +
            'The difference from the plain full GC is free heap the setup burst grew, which new calls reuse: ' +
            'it scales with the call rate of the last 64*T1, not with the calls held.',
        ]
      : []),
    `- After the calls ended: ${x} ${mib(m.afterRssKb)} (V8 keeps the heap it grew).`,
  ];
}

/** Per established call: after V8's memory-reducing GC when measured, else after a plain full GC. */
function establishedPerCall(m: MemoryResult): number {
  return m.reducedRssPerCallBytes ?? m.steadyRssPerCallBytes;
}

function heapLines(r: LoadReport): string[] {
  const h = r.heapPerCall;
  if (h === undefined) return [];
  const total = h.rows.reduce((a, x) => a + x.bytes, 0);
  return [
    `Heap growth per established call (V8 heap snapshots idle and with ${int(h.calls)} calls held, after a full GC; ` +
      `top ${h.rows.length} classes, ${int(total)} bytes of self size):`,
    '',
    '| object (constructor or V8 type) | objects per call | bytes per call |',
    '|---|---|---|',
    ...h.rows.map(
      (x) => `| \`${x.name.replaceAll('|', '\\|')}\` | ${x.count.toFixed(1)} | ${int(x.bytes)} |`,
    ),
    '',
    ...(h.afterEnd.length > 0
      ? [
          `Heap used after a full GC once those calls had ended (idle ${mib(h.idleHeapBytes / 1024)}, held ` +
            `${mib(h.heldHeapBytes / 1024)}): ` +
            `${h.afterEnd.map((x) => `+${x.s} s ${mib(x.heapBytes / 1024)}`).join(', ')}.`,
          '',
        ]
      : []),
  ];
}

function profileLines(p: ProfileResult): string[] {
  const s: ProfileSummary = p.summary;
  return [
    `CPU profile of Stirgate ${p.mode} at ${int(p.rate)} calls/s (\`node --cpu-prof\`, ${(s.durationMs / 1000).toFixed(0)} s, ` +
      (s.profiles !== undefined
        ? `the ${s.profiles} workers' profiles merged (primary left out${p.primaryBusyPct !== undefined ? `: busy ${p.primaryBusyPct} %` : ''}), ` +
          `main threads busy in ${s.busyPct} % of the samples (${s.busyPctEach?.map((b) => `${b} %`).join(' / ')}), whole process life; `
        : `main thread busy in ${s.busyPct} % of the samples, whole process life; `) +
      `step: ${p.step.pass ? 'pass' : `fail: ${p.step.why}`}). Self time as a share of the busy samples:`,
    '',
    '| function (file:line) | self % |',
    '|---|---|',
    ...s.functions.slice(0, 12).map((f) => `| \`${f.where}\` | ${f.selfPct} |`),
    '',
    '| file | self % |',
    '|---|---|',
    ...s.files.slice(0, 10).map((f) => `| \`${f.where}\` | ${f.selfPct} |`),
  ];
}

/** Markdown body shared by the console and the doc. */
export function renderReport(r: LoadReport): string[] {
  const e = r.env;
  const lines = [
    `Run ${e.date}: ${e.cpus} CPUs (${e.cpuModel}), load average ${e.loadStart.map((x) => x.toFixed(2)).join(' ')} at start, ` +
      `${e.loadEnd.map((x) => x.toFixed(2)).join(' ')} at end; node ${e.node}, Kamailio ${e.kamailio} + libsecsipid ` +
      `${e.libsecsipid} (\`-n ${r.settings.kamailioWorkers} -m ${r.settings.kamailioShmMb}\`), Stirgate \`workers: ${workersOf(r)}\`` +
      `${workersOf(r) > 1 ? ` (cluster primary + ${workersOf(r)} SIP worker processes)` : ' (one process)'}, SIPp ${e.sipp}, \`ulimit -n\` ${e.openFiles}, ` +
      `UDP receive buffer default ${int(e.rmemDefault)} bytes (max ${int(e.rmemMax)}; both elements ask for ${int(UDP_SOCKET_BUFFER_BYTES)}: Kamailio \`-b\`); ${r.elapsedS} s in all` +
      `${r.settings.quick ? ' (**--quick**: short steps, indicative only)' : ''}` +
      `${r.settings.stirgateRcvbuf > 0 ? ` (**experiment**: Stirgate's UDP sockets given SO_RCVBUF ${int(r.settings.stirgateRcvbuf)} by the bench probe)` : ''}.`,
    '',
    ...summaryTable(r),
    '',
    ...targetTable(r),
    '',
    ...coreLines(r),
    ...memoryLines(r),
    '',
  ];
  const notes = r.ramps.flatMap((x) => x.notes.map((n) => `- ${x.element} ${x.mode}: ${n}`));
  const fetches = r.ramps
    .filter((x) => x.mode === 'verify')
    .map((x) => `${x.element} ${x.x5uFetches}`)
    .join(', ');
  if (fetches)
    notes.push(`- x5u fetches from the bench's certificate server during the verify ramps: ${fetches}.`);
  if (notes.length) lines.push(...notes, '');
  const verifyRamp = r.ramps.find((x) => x.element === 'stirgate' && x.mode === 'verify');
  lines.push(...signatureCheckLines(r.signatureCheck, verifyRamp));
  lines.push('All steps:', '', ...stepsTable(r), '', ...internalsTable(r));
  lines.push(...diagnosisLines(r), ...heapLines(r));
  for (const p of r.profiles) lines.push(...profileLines(p), '');
  return lines;
}

export function printReport(r: LoadReport): void {
  process.stdout.write(`\n${renderReport(r).join('\n')}\n`);
}

const START = '<!-- load:start -->';
const END = '<!-- load:end -->';

/** Replace (or append) the Load section of docs/performance.md; run from the repository root. */
export async function writeDocSection(r: LoadReport): Promise<void> {
  const path = join(process.cwd(), 'docs', 'performance.md');
  const doc = await readFile(path, 'utf8').catch(() => '# Performance\n');
  const section = [
    START,
    '## Load: Stirgate and Kamailio + secsipid side by side',
    '',
    `Command: \`npm run bench:load\` (\`npm run build && ${r.env.command}\`), from the repository root; ` +
      'method, fairness notes and flags in [bench/load/README.md](../bench/load/README.md).',
    '',
    `SIPp caller (127.0.0.2) → element (127.0.0.1, UDP) → SIPp callee; each call INVITE, 100, 180, 200, ACK, ` +
      `${r.settings.pauseMs} ms, BYE, 200. Rates tried: ${r.settings.rates.join(', ')} calls/s, ${r.settings.stepS} s ` +
      'of calls each, stopping at the first step with ≥ 0.1 % failed or unfinished calls, calls placed late, or an ' +
      'INVITE→200 p99 of 500 ms or more (T1: the caller starts retransmitting), then ' +
      'two bisection steps between the last pass (or 0) and that failure. Each element runs fresh per mode ' +
      '(restarted after a failed step), warmed up with a few ' +
      'hundred calls. Verification: every INVITE carries its own PASSporT signed seconds earlier; a failed ' +
      'verification is a 438, i.e. a failed call. Kamailio verifies with libsecsipid checking the certificate ' +
      'chain to the bench PKI root (`CertVerify=5`), as Stirgate does; TNAuthList, orig/dest and replay are ' +
      'checked by Stirgate only. SIPp response times have 1 ms resolution.',
    '',
    ...renderReport(r),
    END,
  ].join('\n');
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  const next =
    a >= 0 && b > a
      ? doc.slice(0, a) + section + doc.slice(b + END.length)
      : `${doc.replace(/\n*$/, '\n\n')}${section}\n`;
  await writeFile(path, next);
}
