/**
 * One load step: SIPp callee, SIPp caller at a rate for a duration, through an element (or SIPp to SIPp),
 * with the element's CPU, memory, socket drops and own view (probe, /metrics) over the step, and the
 * verdict. Also how elements are started for the phases (fresh, warmed up).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProbeSnapshot } from './element-probe.js';
import {
  type Element,
  type ElementKind,
  type ElementOptions,
  type Mode,
  SOURCE_DIR,
  startKamailio,
  startStirgate,
} from './elements.js';
import { writeIdentityFile } from './identity-tokens.js';
import { type ElementProbe, mergeProbes } from './probe-merge.js';
import {
  CLOCK_TICKS,
  cpuTicks,
  cpuTicksOf,
  freePort,
  freePortRange,
  sleep,
  udpDrops,
  udpDropsOfPids,
  waitUdpBound,
} from './processes.js';
import { diffBuckets, histogramQuantile, parseHistogram, scrape } from './prom-histogram.js';
import { CALLEE, CALLER, type Context, log, T1_MS } from './settings.js';
import { rttSummary, startUac, startUas } from './sipp-load.js';

// --- one step ---------------------------------------------------------------------------------------------

export interface StepResult {
  readonly label: string;
  readonly element: ElementKind | 'direct';
  readonly mode: Mode;
  readonly rate: number;
  readonly durationS: number;
  readonly calls: number;
  readonly created: number;
  readonly successful: number;
  readonly failed: number;
  readonly incomplete: number;
  readonly retransmissions: number;
  readonly exitCode: number;
  readonly creationS: number;
  readonly pass: boolean;
  readonly why: string;
  /** Set when the step was spoiled from outside (a SIPp or the element stopped by someone else). */
  readonly invalid?: boolean;
  /** SIPp INVITE -> 200 response time, ms (1 ms resolution). */
  readonly rtt: { p50: number; p90: number; p99: number; max: number };
  /** CPU over the step, in cores (1.0 = one core busy). */
  readonly cpu: { element: number; uac: number; uas: number };
  /** Stirgate with workers > 1: CPU of each of its processes over the step, cores (primary first, then by pid). */
  readonly cpuProcesses?: readonly { readonly pid: number; readonly cores: number }[];
  /**
   * Element memory at the end of the step, kB (a single-process Stirgate: RSS; Kamailio, and Stirgate with
   * workers > 1: PSS summed over its processes).
   */
  readonly memoryKb: number;
  /** Stirgate with workers > 1: RSS summed over its processes at the end of the step, kB. */
  readonly memoryRssSumKb?: number;
  /**
   * Datagrams the kernel dropped (receive buffer full) on each socket during the step. `forward`: Stirgate
   * with workers > 1, on the workers' loopback forwarding sockets (the element's other UDP sockets).
   */
  readonly udpDrops: {
    readonly element: number;
    readonly uac: number;
    readonly uas: number;
    readonly forward?: number;
  };
  /** Stirgate only: the probe's view of the step (every process merged, probe-merge.ts). */
  readonly probe?: ElementProbe;
  /** Stirgate only, when /metrics serves them: quantiles from its own histograms over the step, µs. */
  readonly metrics?: { signP50Us?: number; signP99Us?: number; inviteP50Us?: number; inviteP99Us?: number };
  readonly tokens?: { count: number; ms: number };
}

/** The element's CPU per call over a step, µs: its cores divided by the calls per second. */
export function cpuPerCallUs(s: StepResult): number {
  return s.rate > 0 ? Math.round((s.cpu.element * 1e6) / s.rate) : 0;
}

export interface StepPlan {
  readonly label: string;
  readonly mode: Mode;
  readonly rate: number;
  readonly durationS: number;
  /** Undefined: SIPp calls SIPp directly. */
  readonly element: Element | undefined;
  readonly uasPort: number;
  /** Judge it (ramp steps); warm-up steps are not judged. */
  readonly judged: boolean;
}

async function probeOne(url: string, path: string): Promise<ProbeSnapshot | undefined> {
  try {
    const res = await fetch(`${url}/${path}`, { signal: AbortSignal.timeout(5000) });
    return (await res.json()) as ProbeSnapshot;
  } catch {
    return undefined;
  }
}

/**
 * Ask every process's probe (`/reset` and `/gc` go to all of them) and merge their answers (probe-merge.ts);
 * undefined when none answered. A probe that did not answer is named in the log.
 */
export async function probe(
  el: Element | undefined,
  path: 'snapshot' | 'reset' | 'gc' | 'gc-reduce',
): Promise<ElementProbe | undefined> {
  const urls = el?.probeUrls ?? (el?.probeUrl !== undefined ? [el.probeUrl] : undefined);
  if (urls === undefined) return undefined;
  const snaps = await Promise.all(urls.map((u) => probeOne(u, path)));
  const silent = urls.filter((_, i) => snaps[i] === undefined);
  if (silent.length > 0 && silent.length < urls.length && !el!.main.done())
    log(`  probe /${path}: no answer from ${silent.join(' ')}`);
  return mergeProbes(snaps);
}

/** Wait until the element holds no calls (Stirgate: probe; Kamailio: a fixed pause for transactions). */
export async function waitIdle(el: Element | undefined, maxMs = 10_000): Promise<void> {
  if (el === undefined) return;
  if (el.kind === 'kamailio') {
    await sleep(1500);
    return;
  }
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const snap = await probe(el, 'snapshot');
    if (snap === undefined || snap.callsActive <= 0) return;
    await sleep(200);
  }
}

export async function runStep(ctx: Context, plan: StepPlan): Promise<StepResult> {
  const { s } = ctx;
  const dir = join(ctx.tmp, 'steps', plan.label);
  await mkdir(dir, { recursive: true });
  const calls = Math.round(plan.rate * plan.durationS);
  let tokens: { count: number; ms: number } | undefined;
  let injectFile: string | undefined;
  if (plan.mode === 'verify') {
    injectFile = join(dir, 'identity.inf');
    tokens = await writeIdentityFile({
      file: injectFile,
      count: calls,
      privateKey: ctx.privateKey,
      x5u: ctx.x5u,
      origTn: CALLER,
      destTn: CALLEE,
      origid: ctx.origid,
    });
  }
  const uas = startUas({
    port: plan.uasPort,
    scenario: join(SOURCE_DIR, 'scenarios', 'uas.xml'),
    dir,
    timeoutS: plan.durationS + 120,
  });
  await waitUdpBound(plan.uasPort, uas.process, 'sipp uas');
  const el = plan.element;
  await probe(el, 'reset');
  const metricsBefore = el?.metricsUrl !== undefined ? await scrape(el.metricsUrl) : undefined;
  const elOom0 = el ? await el.outOfMemory() : 0;
  const elTicks0 = el ? await cpuTicksOf(el.pids) : 0;
  const uasTicks0 = await cpuTicks(uas.process.pid);
  const elDrops0 = el ? await udpDrops('127.0.0.1', el.port) : 0;
  const multi = el !== undefined && el.pids.length > 1 && el.kind === 'stirgate';
  const fwdDrops0 = multi ? await udpDropsOfPids(el.pids, el.port) : 0;
  const pidTicks0 = multi ? await Promise.all(el.pids.map(cpuTicks)) : [];
  const uasDrops0 = await udpDrops('127.0.0.1', plan.uasPort);
  const uacPort = await freePort('127.0.0.2');
  const t0 = performance.now();
  const uac = startUac({
    remote: `127.0.0.1:${el ? el.port : plan.uasPort}`,
    scenario: join(SOURCE_DIR, 'scenarios', plan.mode === 'verify' ? 'uac-identity.xml' : 'uac.xml'),
    rate: plan.rate,
    calls,
    pauseMs: s.pauseMs,
    limit: Math.max(1000, plan.rate * 5),
    // Calls last ~0.5 s; one still open 8 s after the last was placed is counted as unfinished.
    timeoutS: plan.durationS + 8,
    dir,
    localPort: uacPort,
    service: CALLEE,
    ...(injectFile !== undefined ? { injectFile } : {}),
  });
  // SIPp's own CPU and socket drops, sampled while it runs (both are gone once it exits).
  let uacTicks = 0;
  let uacDrops = 0;
  let uacSampledAt = t0;
  let finished = false;
  const sampler = (async () => {
    while (!finished) {
      const ticks = await cpuTicks(uac.process.pid);
      const drops = await udpDrops('127.0.0.2', uacPort);
      if (ticks > 0 && !finished) {
        uacTicks = ticks;
        uacDrops = Math.max(uacDrops, drops);
        uacSampledAt = performance.now();
      }
      await sleep(500);
    }
  })();
  const r = await uac.result;
  finished = true;
  await sampler;
  // Something outside the bench may stop a process (e.g. another job on a shared machine cleaning up
  // SIPp by name): such a step says nothing about the element and is measured again.
  // A cluster worker that died during the step (the primary restarts it; its calls are lost): the element's
  // failure, not something from outside.
  const lost = el !== undefined && !el.main.done() ? await el.exited() : [];
  const invalid = uas.process.done()
    ? `the callee SIPp exited during the step (${uas.process.how()})`
    : el?.main.done()
      ? `the element exited during the step (${el.main.how()})`
      : r.exitCode < 0 || (r.exitCode === 0 && r.successful < calls)
        ? 'the caller SIPp was stopped from outside'
        : '';
  const wallS = (performance.now() - t0) / 1000;
  const elTicks1 = el ? await cpuTicksOf(el.pids) : 0;
  const pidTicks1 = multi ? await Promise.all(el.pids.map(cpuTicks)) : [];
  const uasTicks1 = await cpuTicks(uas.process.pid);
  const drops = {
    element: el ? (await udpDrops('127.0.0.1', el.port)) - elDrops0 : 0,
    uac: uacDrops,
    uas: (await udpDrops('127.0.0.1', plan.uasPort)) - uasDrops0,
    ...(multi ? { forward: (await udpDropsOfPids(el.pids, el.port)) - fwdDrops0 } : {}),
  };
  // The element's own view over the calls (not the drain that follows): event loop, GC, timings.
  const snap = await probe(el, 'snapshot');
  await waitIdle(el);
  const memoryKb = el ? await el.memoryKb() : 0;
  const memoryRssSumKb = el?.rssSumKb !== undefined ? await el.rssSumKb() : undefined;
  await uas.stop();
  const metricsAfter = el?.metricsUrl !== undefined ? await scrape(el.metricsUrl) : undefined;
  if (injectFile !== undefined) await rm(injectFile, { force: true });

  const bad = r.failed + r.incomplete + Math.max(0, calls - r.created);
  const onTime = r.creationS <= plan.durationS * 1.05 + 1.5;
  let why = invalid;
  if (why !== '') log(`  ${plan.label}: ${why}; not counted`);
  else if (lost.length > 0) why = `element process(es) ${lost.join(' ')} exited during the step`;
  else if (r.created < calls) why = `placed ${r.created}/${calls} calls`;
  else if (!onTime) why = `placing the calls took ${r.creationS.toFixed(0)} s`;
  else if (bad >= 0.001 * calls) why = `${bad} failed or unfinished (${((100 * bad) / calls).toFixed(2)} %)`;
  // RFC 3261 §17.1.1.2: an INVITE unanswered after T1 (500 ms) is retransmitted. More than 1 % of calls
  // waiting that long means requests are queueing, not a rate the element sustains.
  else if (!(rttSummary(r.rttMs).p99 < T1_MS))
    why = `INVITE->200 p99 ${rttSummary(r.rttMs).p99} ms (>= ${T1_MS} ms)`;
  const oom = el ? (await el.outOfMemory()) - elOom0 : 0;
  if (oom > 0) why += ` (Kamailio ran out of shared memory ${oom} times: raise --kamailio-shm)`;
  const pass = plan.judged ? why === '' : true;
  const cores = (ticks: number, seconds: number) => (seconds > 0 ? ticks / CLOCK_TICKS / seconds : 0);
  const result: StepResult = {
    label: plan.label,
    element: el?.kind ?? 'direct',
    mode: plan.mode,
    rate: plan.rate,
    durationS: plan.durationS,
    calls,
    created: r.created,
    successful: r.successful,
    failed: r.failed,
    incomplete: r.incomplete,
    retransmissions: r.retransmissions,
    exitCode: r.exitCode,
    creationS: r.creationS,
    pass,
    why,
    ...(invalid !== '' ? { invalid: true } : {}),
    rtt: rttSummary(r.rttMs),
    cpu: {
      element: cores(elTicks1 - elTicks0, wallS),
      uac: cores(uacTicks, (uacSampledAt - t0) / 1000),
      uas: cores(uasTicks1 - uasTicks0, wallS),
    },
    ...(multi
      ? {
          cpuProcesses: el.pids.map((pid, i) => ({
            pid,
            cores: Math.round(100 * cores(pidTicks1[i]! - pidTicks0[i]!, wallS)) / 100,
          })),
        }
      : {}),
    memoryKb,
    ...(memoryRssSumKb !== undefined ? { memoryRssSumKb } : {}),
    udpDrops: drops,
    ...(snap !== undefined ? { probe: snap } : {}),
    ...(metricsAfter !== undefined ? { metrics: metricsQuantiles(metricsBefore, metricsAfter) } : {}),
    ...(tokens !== undefined ? { tokens } : {}),
  };
  const verdict = plan.judged ? (pass ? 'pass' : `FAIL (${why})`) : 'done';
  log(
    `  ${plan.label}: ${r.successful}/${calls} ok, ${r.failed} failed, ${r.incomplete} unfinished, ` +
      `INVITE->200 p50 ${result.rtt.p50} ms p99 ${result.rtt.p99} ms, ` +
      `CPU element ${result.cpu.element.toFixed(2)} uac ${result.cpu.uac.toFixed(2)} uas ${result.cpu.uas.toFixed(2)}` +
      `${result.cpuProcesses ? ` (per process ${result.cpuProcesses.map((p) => p.cores.toFixed(2)).join(' / ')})` : ''}` +
      `, UDP drops element ${drops.element}${drops.forward !== undefined ? ` (+${drops.forward} forwarding)` : ''} uac ${drops.uac} uas ${drops.uas}` +
      `${snap?.workers ? `, workers: ELU max ${(100 * snap.eventLoopUtilization).toFixed(0)} % mean ${(100 * snap.eventLoopUtilizationMean).toFixed(0)} %, calls ${snap.workers.map((w) => w.callsStarted).join('/')}, forwarded ${snap.workers.map((w) => w.forwarded).join('/')}` : ''}` +
      `${snap && snap.processes < snap.expected ? `, probes answered ${snap.processes}/${snap.expected}` : ''}` +
      `${snap ? `, loop delay p99 ${snap.loopDelayMs.p99.toFixed(0)} max ${snap.loopDelayMs.max.toFixed(0)} ms, GC max ${snap.gc.maxMs} ms` : ''}` +
      `${snap?.sign.count ? `, sign core p99 ${snap.sign.p99Us} µs` : ''}` +
      `${snap?.verify.count ? `, verify p99 ${snap.verify.p99Us} µs` : ''} -> ${verdict}`,
  );
  return result;
}

function metricsQuantiles(before: string | undefined, after: string): NonNullable<StepResult['metrics']> {
  const out: { signP50Us?: number; signP99Us?: number; inviteP50Us?: number; inviteP99Us?: number } = {};
  const family = (name: string) => {
    const a = parseHistogram(after, name);
    if (a === undefined) return undefined;
    const d = diffBuckets(a, before === undefined ? undefined : parseHistogram(before, name));
    const p = (q: number) => Math.round(histogramQuantile(d, q) * 1e8) / 100;
    return { p50: p(0.5), p99: p(0.99) };
  };
  const sign = family('stirgate_stir_sign_duration_seconds');
  if (sign && Number.isFinite(sign.p50)) {
    out.signP50Us = sign.p50;
    out.signP99Us = sign.p99;
  }
  const invite = family('stirgate_invite_processing_seconds');
  if (invite && Number.isFinite(invite.p50)) {
    out.inviteP50Us = invite.p50;
    out.inviteP99Us = invite.p99;
  }
  return out;
}

// --- elements --------------------------------------------------------------------------------------------

export async function startElement(
  ctx: Context,
  kind: ElementKind,
  mode: Mode,
  uasPort: number,
  nodeFlags?: readonly string[],
  variant?: Pick<ElementOptions, 'signatureCheck'>,
): Promise<Element> {
  const dir = join(ctx.tmp, 'elements', `${kind}-${mode}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  // The probe's base port; in cluster mode worker k listens on base + 1 + k: a range, with the element's
  // other ports outside it.
  const n = ctx.s.stirgateWorkers;
  const probePort = kind === 'stirgate' && n > 1 ? await freePortRange(n + 1) : await freePort();
  const lastProbePort = probePort + (kind === 'stirgate' && n > 1 ? n : 0);
  const outside = async () => {
    for (;;) {
      const p = await freePort();
      if (p < probePort || p > lastProbePort) return p;
    }
  };
  const o: ElementOptions = {
    mode,
    dir,
    port: await outside(),
    uasPort,
    pki: ctx.pki,
    x5u: ctx.x5u,
    x5uPort: ctx.x5uPort,
    origid: ctx.origid,
    probePort,
    metricsPort: await outside(),
    kamailioWorkers: ctx.s.kamailioWorkers,
    kamailioShmMb: ctx.s.kamailioShmMb,
    stirgateWorkers: ctx.s.stirgateWorkers,
    traceback: ctx.s.traceback,
    stirgateRcvbuf: ctx.s.stirgateRcvbuf,
    ...(nodeFlags !== undefined ? { nodeFlags } : {}),
    ...variant,
  };
  return kind === 'kamailio' ? startKamailio(o) : startStirgate(o);
}

/** A fresh element, warmed up (JIT, x5u fetch and cache) with a short unjudged step. */
export async function freshElement(
  ctx: Context,
  kind: ElementKind,
  mode: Mode,
  uasPort: number,
  nodeFlags?: readonly string[],
  variant?: Pick<ElementOptions, 'signatureCheck'>,
): Promise<Element> {
  const el = await startElement(ctx, kind, mode, uasPort, nodeFlags, variant);
  await runStep(ctx, {
    label: `${kind}-${mode}-warmup-${Date.now()}`,
    mode,
    rate: 200,
    durationS: ctx.s.warmupS,
    element: el,
    uasPort,
    judged: false,
  });
  return el;
}
