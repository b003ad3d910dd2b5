/**
 * Memory per established call: calls held through a Stirgate signing element (SIPp caller with a long
 * pause), RSS and V8 heap idle and held; optionally heap snapshots and what happens once the calls end.
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

// --- memory ----------------------------------------------------------------------------------------------

export interface MemoryResult {
  readonly calls: number;
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
  readonly rssPerCallBytes: number;
  readonly heapPerCallBytes: number;
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
    const idleHeap = plan.heap ? await heapSnapshot(el, join(dir, 'idle.heapsnapshot')) : undefined;
    const rampS = plan.calls / plan.rate;
    const holdMs = Math.round((rampS + 12) * 1000);
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
      await sleep(250);
    }
    await sleep(2000); // last ACKs in, transactions of the setup settled
    const heldSnap = await probe(el, 'snapshot');
    held = heldSnap?.callsActive ?? held;
    const heldRssKb = await el.memoryKb();
    const heldGc = await probe(el, 'gc');
    const heldHeap = plan.heap ? await heapSnapshot(el, join(dir, 'held.heapsnapshot')) : undefined;
    if (uas.process.done() || el.main.done())
      throw new SpoiledRun(
        `a process of the memory run exited early (callee ${uas.process.how() ?? 'running'})`,
      );
    log(`  held ${held} calls: RSS ${(idleRssKb / 1024).toFixed(1)} -> ${(heldRssKb / 1024).toFixed(1)} MiB`);
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
    if (idleHeap !== undefined) await rm(idleHeap, { force: true });
    if (heldHeap !== undefined) await rm(heldHeap, { force: true });
    return {
      calls: plan.calls,
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

async function heapSnapshot(el: Element, file: string): Promise<string | undefined> {
  if (el.probeUrl === undefined) return undefined;
  try {
    const res = await fetch(`${el.probeUrl}/heap?file=${encodeURIComponent(file)}`, {
      signal: AbortSignal.timeout(60_000),
    });
    return ((await res.json()) as { file: string }).file;
  } catch {
    return undefined;
  }
}
