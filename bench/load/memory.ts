/**
 * Memory per established call: calls held through a Stirgate signing element (SIPp caller with a long
 * pause), RSS and V8 heap idle and held; optionally heap snapshots and what happens once the calls end.
 * With workers > 1 every figure is over the whole element: memory the sum of PSS over the primary and its
 * workers (and the RSS sum next to it), V8 heap summed over the processes' probes, heap snapshots one per
 * worker, summed.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Element } from './elements.js';
import { SOURCE_DIR } from './elements.js';
import { type HeapClass, heapGrowthPerCall } from './heap-snapshot.js';
import { freePort, type Managed, sleep, stopManaged, waitUdpBound } from './processes.js';
import { CALLEE, type Context, log } from './settings.js';
import { startUac, startUas } from './sipp-load.js';
import { freshElement, probe, waitIdle } from './step.js';

export interface MemoryResult {
  readonly calls: number;
  /**
   * How the `...RssKb` figures were measured: `RSS` of the single Stirgate process, or `PSS` summed over the
   * cluster primary and its workers (workers > 1; memory shared between them counted once, as for Kamailio).
   * Absent in reports written before cluster mode (RSS).
   */
  readonly memoryMethod?: 'RSS' | 'PSS';
  /** Stirgate processes measured (1, or primary + workers). */
  readonly processes?: number;
  /** workers > 1: VmRSS summed over the processes (shared pages counted in each), idle / held / steady after GC, kB. */
  readonly rssSum?: { readonly idleKb: number; readonly heldKb: number; readonly steadyKb: number };
  /** Calls Stirgate held when measured (probe: started - ended). */
  readonly heldCalls: number;
  readonly idleRssKb: number;
  readonly heldRssKb: number;
  readonly afterRssKb: number;
  readonly idleHeapBytes: number;
  readonly heldHeapBytes: number;
  /** Heap used after a full GC, idle and with the calls held. */
  readonly idleHeapGcBytes: number;
  readonly heldHeapGcBytes: number;
  /** (held - idle) / held calls, 2 s after the last call was set up: the setup transactions still wait. */
  readonly rssPerCallBytes: number;
  readonly heapPerCallBytes: number;
  /**
   * The same calls still held, measured again once every setup transaction has left its RFC 6026 / RFC 3261
   * wait state (Timer L/M = 64*T1 after the last 2xx): what a long established call costs.
   */
  readonly steadyAfterS: number;
  readonly steadyHeldCalls: number;
  /** RSS of the held calls after a full GC, and just before it. */
  readonly steadyRssKb: number;
  readonly steadyRssBeforeGcKb: number;
  readonly steadyHeapGcBytes: number;
  readonly steadyRssPerCallBytes: number;
  readonly steadyHeapPerCallBytes: number;
  /**
   * After a memory-reducing full GC (V8's `last-resort` flavour: what it runs under memory pressure, compacting
   * and giving back the pages the setup burst left half empty), same calls held. Absent in older reports.
   */
  readonly reducedRssKb?: number;
  readonly reducedRssPerCallBytes?: number;
  /** V8 heap reserved (heapTotal, summed over the processes) after the plain full GC and after the reducing one. */
  readonly steadyHeapTotalBytes?: number;
  readonly reducedHeapTotalBytes?: number;
  readonly successful: number;
  readonly failed: number;
  /** With heap snapshots: what grew per held call, by constructor. */
  readonly heapPerCall?: readonly HeapClass[];
  /** With heap snapshots: heap used after a full GC, every 5 s after the calls ended, until back near idle. */
  readonly heapAfterEnd?: readonly { readonly s: number; readonly heapBytes: number }[];
}

export interface MemoryPlan {
  readonly calls: number;
  readonly rate: number;
  /** Take heap snapshots idle and held (only for a few thousand calls: snapshots are large). */
  readonly heap: boolean;
}

async function memory(ctx: Context, plan: MemoryPlan): Promise<MemoryResult> {
  const uasPort = await freePort();
  log(`stirgate memory: ${plan.calls} established calls${plan.heap ? ' (with heap snapshots)' : ''}`);
  const el = await freshElement(ctx, 'stirgate', 'sign', uasPort, ['--expose-gc']);
  const sipps: Managed[] = [];
  try {
    await waitIdle(el);
    await sleep(2000);
    const idleSnap = await probe(el, 'snapshot');
    const idleRssKb = await el.memoryKb();
    const rssSum = async () => (el.rssSumKb !== undefined ? await el.rssSumKb() : 0);
    const idleRssSumKb = await rssSum();
    const idleGc = await probe(el, 'gc');
    const dir = join(ctx.tmp, 'steps', `memory-${plan.calls}`);
    await mkdir(dir, { recursive: true });
    const uas = startUas({
      port: uasPort,
      scenario: join(SOURCE_DIR, 'scenarios', 'uas.xml'),
      dir,
      timeoutS: 300,
    });
    sipps.push(uas.process);
    await waitUdpBound(uasPort, uas.process, 'sipp uas');
    const idleHeap = plan.heap ? await heapSnapshots(el, dir, 'idle') : undefined;
    const rampS = plan.calls / plan.rate;
    // Held past the setup transactions' wait states (64*T1 = 32 s with the default T1) and a margin.
    const holdMs = Math.round((rampS + 12 + STEADY_AFTER_S) * 1000);
    const uac = startUac({
      remote: `127.0.0.1:${el.port}`,
      scenario: join(SOURCE_DIR, 'scenarios', 'uac.xml'),
      rate: plan.rate,
      calls: plan.calls,
      pauseMs: holdMs,
      limit: plan.calls,
      timeoutS: Math.ceil(rampS + holdMs / 1000 + 30),
      dir,
      localPort: await freePort('127.0.0.2'),
      service: CALLEE,
    });
    sipps.push(uac.process);
    // All calls placed and answered: the probe counts them (calls started and not ended).
    const deadline = Date.now() + (rampS + 10) * 1000;
    let held = 0;
    while (Date.now() < deadline) {
      held = (await probe(el, 'snapshot'))?.callsActive ?? 0;
      if (held >= plan.calls) break;
      // Stopped from outside, or a cluster worker died: measured again (below), no point waiting.
      if (el.main.done() || uas.process.done() || (await el.exited()).length > 0) break;
      await sleep(250);
    }
    await sleep(2000); // last ACKs in, transactions of the setup settled
    const heldSnap = await probe(el, 'snapshot');
    held = heldSnap?.callsActive ?? held;
    const heldRssKb = await el.memoryKb();
    const heldRssSumKb = await rssSum();
    const heldGc = await probe(el, 'gc');
    const what = el.memoryMethod === 'PSS' ? `PSS (sum over ${el.pids.length} processes)` : 'RSS';
    log(
      `  held ${held} calls: ${what} ${(idleRssKb / 1024).toFixed(1)} -> ${(heldRssKb / 1024).toFixed(1)} MiB` +
        `${el.rssSumKb !== undefined ? `; RSS sum ${(idleRssSumKb / 1024).toFixed(1)} -> ${(heldRssSumKb / 1024).toFixed(1)} MiB` : ''}`,
    );
    await sleep(STEADY_AFTER_S * 1000);
    const steadySnap = await probe(el, 'snapshot');
    const steadyHeld = steadySnap?.callsActive ?? 0;
    const steadyRssBeforeGcKb = await el.memoryKb();
    const steadyGc = await probe(el, 'gc');
    // After the full GC: V8 returns the pages the setup burst made it grow (the heap's high-water mark).
    const steadyRssKb = await el.memoryKb();
    const steadyRssSumKb = await rssSum();
    // The same calls after the GC V8 runs under memory pressure: pages the setup burst left half empty are
    // compacted and given back, so what remains is what the established calls hold.
    const reducedGc = await probe(el, 'gc-reduce');
    await sleep(1000);
    const reducedRssKb = await el.memoryKb();
    log(
      `  after a memory-reducing GC: ${what} ${(reducedRssKb / 1024).toFixed(1)} MiB, heap used ` +
        `${((reducedGc?.memory.heapUsed ?? 0) / 1048576).toFixed(1)} of ${((reducedGc?.memory.heapTotal ?? 0) / 1048576).toFixed(1)} MiB`,
    );
    const heldHeap = plan.heap ? await heapSnapshots(el, dir, 'held') : undefined;
    const mu = steadyGc?.memory;
    if (mu !== undefined)
      log(
        `  after the full GC: heap used ${(mu.heapUsed / 1048576).toFixed(1)} of ${(mu.heapTotal / 1048576).toFixed(1)} MiB, ` +
          `external ${(mu.external / 1048576).toFixed(1)} MiB (array buffers ${(mu.arrayBuffers / 1048576).toFixed(1)} MiB)`,
      );
    log(
      `  ${STEADY_AFTER_S} s later, ${steadyHeld} calls still held: ${what} ${(steadyRssBeforeGcKb / 1024).toFixed(1)} MiB, ` +
        `${(steadyRssKb / 1024).toFixed(1)} MiB after a full GC` +
        `${el.rssSumKb !== undefined ? ` (RSS sum ${(steadyRssSumKb / 1024).toFixed(1)} MiB)` : ''}`,
    );
    if (uas.process.done() || el.main.done())
      throw new SpoiledRun(
        `a process of the memory run exited early (callee ${uas.process.how() ?? 'running'})`,
      );
    const lost = await el.exited();
    if (lost.length > 0)
      throw new SpoiledRun(
        `Stirgate process(es) ${lost.join(' ')} exited during the memory run (calls lost)`,
      );
    const r = await uac.result;
    await waitIdle(el, 20_000);
    await uas.stop();
    const afterRssKb = await el.memoryKb();
    const heapAfterEnd: { s: number; heapBytes: number }[] = [];
    if (plan.heap) {
      // Is the memory of ended calls released, and when? (transactions linger up to 64*T1 = 32 s)
      const idleHeapBytes = idleGc?.memory.heapUsed ?? 0;
      const ended = Date.now();
      for (;;) {
        const heapBytes = (await probe(el, 'gc'))?.memory.heapUsed ?? 0;
        heapAfterEnd.push({ s: Math.round((Date.now() - ended) / 1000), heapBytes });
        if (heapBytes <= idleHeapBytes * 1.2 + 5e6 || Date.now() - ended > 50_000) break;
        await sleep(5000);
      }
    }
    const n = Math.max(1, held);
    const heapPerCall =
      idleHeap !== undefined && heldHeap !== undefined
        ? await heapGrowthPerCall(idleHeap, heldHeap, n)
        : undefined;
    for (const f of [...(idleHeap ?? []), ...(heldHeap ?? [])]) await rm(f, { force: true });
    return {
      calls: plan.calls,
      memoryMethod: el.memoryMethod === 'PSS' ? 'PSS' : 'RSS',
      processes: el.pids.length,
      ...(el.rssSumKb !== undefined
        ? { rssSum: { idleKb: idleRssSumKb, heldKb: heldRssSumKb, steadyKb: steadyRssSumKb } }
        : {}),
      heldCalls: held,
      idleRssKb,
      heldRssKb,
      afterRssKb,
      idleHeapBytes: idleSnap?.memory.heapUsed ?? 0,
      heldHeapBytes: heldSnap?.memory.heapUsed ?? 0,
      idleHeapGcBytes: idleGc?.memory.heapUsed ?? 0,
      heldHeapGcBytes: heldGc?.memory.heapUsed ?? 0,
      rssPerCallBytes: ((heldRssKb - idleRssKb) * 1024) / n,
      heapPerCallBytes: ((heldGc?.memory.heapUsed ?? 0) - (idleGc?.memory.heapUsed ?? 0)) / n,
      steadyAfterS: STEADY_AFTER_S,
      reducedRssKb,
      reducedRssPerCallBytes: ((reducedRssKb - idleRssKb) * 1024) / Math.max(1, steadyHeld),
      reducedHeapTotalBytes: reducedGc?.memory.heapTotal ?? 0,
      steadyHeapTotalBytes: steadyGc?.memory.heapTotal ?? 0,
      steadyHeldCalls: steadyHeld,
      steadyRssKb,
      steadyRssBeforeGcKb,
      steadyHeapGcBytes: steadyGc?.memory.heapUsed ?? 0,
      steadyRssPerCallBytes: ((steadyRssKb - idleRssKb) * 1024) / Math.max(1, steadyHeld),
      steadyHeapPerCallBytes:
        ((steadyGc?.memory.heapUsed ?? 0) - (idleGc?.memory.heapUsed ?? 0)) / Math.max(1, steadyHeld),
      successful: r.successful,
      failed: r.failed,
      ...(heapPerCall !== undefined ? { heapPerCall } : {}),
      ...(heapAfterEnd.length > 0 ? { heapAfterEnd } : {}),
    };
  } finally {
    for (const p of sipps) await stopManaged(p, 'SIGKILL');
    await el.stop();
  }
}

/** 64*T1 (32 s at the default T1 of 500 ms) + 4 s: Timer L/M of the last call's setup have fired. */
const STEADY_AFTER_S = 36;

/** A run spoiled from outside (a process stopped by someone else): measured again. */
class SpoiledRun extends Error {}

/** memory(), measured again (at most twice more) when spoiled from outside. */
export async function memoryRun(ctx: Context, plan: MemoryPlan): Promise<MemoryResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await memory(ctx, plan);
    } catch (err) {
      if (!(err instanceof SpoiledRun) || attempt >= 3) throw err;
      log(`  memory: ${err.message}; measuring again`);
    }
  }
}

/**
 * One V8 heap snapshot per process handling calls (each cluster worker; the single process), written as
 * `<tag>.heapsnapshot` or `<tag>-w<k>.heapsnapshot`; undefined unless every one was written.
 */
async function heapSnapshots(el: Element, dir: string, tag: string): Promise<string[] | undefined> {
  const urls = el.callProbeUrls ?? (el.probeUrl !== undefined ? [el.probeUrl] : []);
  if (urls.length === 0) return undefined;
  const files: string[] = [];
  for (const [k, url] of urls.entries()) {
    const file = join(dir, urls.length > 1 ? `${tag}-w${k}.heapsnapshot` : `${tag}.heapsnapshot`);
    try {
      const res = await fetch(`${url}/heap?file=${encodeURIComponent(file)}`, {
        signal: AbortSignal.timeout(60_000),
      });
      files.push(((await res.json()) as { file: string }).file);
    } catch {
      return undefined;
    }
  }
  return files;
}
