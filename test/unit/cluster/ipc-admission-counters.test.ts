/**
 * The element-wide limits in a cluster: a worker leases batches and admits from them (IpcAdmissionCounters),
 * the primary counts for every worker (ElementAdmission).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalAdmissionCounters } from '../../../src/b2bua/local-admission-counters.js';
import { ElementAdmission } from '../../../src/cluster/element-admission.js';
import { IpcAdmissionCounters, LEASE_TICK_MS } from '../../../src/cluster/ipc-admission-counters.js';
import type { PrimaryToWorker, WorkerToPrimary } from '../../../src/cluster/protocol.js';
import type { AdmitResult } from '../../../src/policy/admission-counters.js';
import type { CustomerLimits } from '../../../src/policy/controls.js';

/** Small limits: batches of one, asked for each call. */
const tight = { cps: 100, burst: 100, maxConcurrent: 2 };
/** A big customer: batches of 64 (a tenth of a second of 1,000 calls/s, capped), fetched ahead. */
const big = { cps: 1000, burst: 1000, maxConcurrent: 10_000 };

afterEach(() => {
  vi.useRealTimers();
});

/** Two workers wired to one primary in memory, through the real message shapes; keeps what they sent. */
function element(now: () => number = Date.now) {
  const primary = new ElementAdmission(new LocalAdmissionCounters({ now }));
  const workers: IpcAdmissionCounters[] = [];
  const sent: WorkerToPrimary[] = [];
  const toWorker = (index: number, m: PrimaryToWorker) => {
    if (m.t === 'sg:lease') workers[index]!.answer(m.id, m.result);
  };
  const fromWorker = (index: number, m: WorkerToPrimary): boolean => {
    sent.push(m);
    queueMicrotask(() => {
      if (m.t === 'sg:lease')
        toWorker(index, {
          t: 'sg:lease',
          id: m.id,
          result: primary.lease(index, m.customer, m.limits, m.want),
        });
      else if (m.t === 'sg:lease_return')
        primary.returnLease(index, m.customer, m.tokens, m.slots, m.admitted, m.active);
      else if (m.t === 'sg:refused') primary.refused(m.customer, m.cause);
    });
    return true;
  };
  for (let i = 0; i < 2; i++) workers.push(new IpcAdmissionCounters((m) => fromWorker(i, m), 2));
  return { primary, workers, sent };
}

const flush = () => new Promise((r) => setImmediate(r));

async function admitMany(w: IpcAdmissionCounters, limits: CustomerLimits, n: number): Promise<AdmitResult[]> {
  const out: AdmitResult[] = [];
  for (let i = 0; i < n; i++) out.push(await w.admit('acme', limits));
  return out;
}

describe('IpcAdmissionCounters with ElementAdmission', () => {
  it('the concurrent limit holds for the element: the third call is refused whichever worker has it', async () => {
    const { primary, workers } = element();
    expect(await workers[0]!.admit('acme', tight)).toEqual({ ok: true });
    expect(await workers[1]!.admit('acme', tight)).toEqual({ ok: true });
    expect(await workers[0]!.admit('acme', tight)).toMatchObject({ ok: false, cause: 'concurrent' });
    // The call on worker 1 ends; its slot goes back to the primary at the next tick.
    workers[1]!.release('acme');
    await new Promise((r) => setTimeout(r, LEASE_TICK_MS + 20));
    expect(await workers[0]!.admit('acme', tight)).toEqual({ ok: true });
    await flush();
    expect(primary.counters.figures()).toMatchObject([
      { customer: 'acme', concurrent: 2, refusals: { concurrent: 1 } },
    ]);
    for (const w of workers) w.close();
  });

  it('a big customer: most calls are admitted in place, without waiting for the primary', async () => {
    const { primary, workers, sent } = element();
    const results = await admitMany(workers[0]!, big, 500);
    expect(results.every((r) => r.ok)).toBe(true);
    const leases = sent.filter((m) => m.t === 'sg:lease').length;
    // 500 calls in batches of 64: 8 leases, not 500 round trips.
    expect(leases).toBeLessThanOrEqual(10);
    await flush();
    // The primary counts the slots leased: the calls in progress plus the batch in hand.
    const held = workers[0]!.held('acme')!;
    expect(primary.counters.figures()[0]!.concurrent).toBe(500 + held.slots);
    // The live figure is the calls in progress, as the worker reports them at its next tick.
    await new Promise((r) => setTimeout(r, LEASE_TICK_MS + 20));
    expect(primary.figures()[0]!.concurrent).toBe(500);
    for (let i = 0; i < 200; i++) workers[0]!.release('acme');
    await new Promise((r) => setTimeout(r, LEASE_TICK_MS + 20));
    expect(primary.figures()[0]!.concurrent).toBe(300);
    for (const w of workers) w.close();
  });

  it('a rate limit lets through exactly the bucket: leased tokens are not lost, unused ones go back', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'Date'] });
    vi.setSystemTime(1_000_000);
    const { primary, workers } = element(() => Date.now());
    const limits = { cps: 200, burst: 40, maxConcurrent: 100_000 };
    // A second of calls split over two workers, one every 2 ms (2.5x the rate); every call ends at once.
    let ok = 0;
    for (let t = 0; t < 1000; t += 2) {
      const w = workers[(t / 2) % 2]!;
      if ((await w.admit('acme', limits)).ok) {
        ok++;
        w.release('acme');
      }
      await vi.advanceTimersByTimeAsync(2);
    }
    // 40 at once plus 200 a second over the second (240), less what a batch parked in a worker holds back.
    expect(ok).toBeGreaterThanOrEqual(225);
    expect(ok).toBeLessThanOrEqual(241);
    await vi.advanceTimersByTimeAsync(3 * LEASE_TICK_MS);
    // Everything leased and unused came back: nothing held, nothing counted as in progress.
    expect(workers.map((w) => w.held('acme')?.tokens ?? 0)).toEqual([0, 0]);
    expect(primary.counters.figures()[0]!.concurrent).toBe(0);
    for (const w of workers) w.close();
  });

  it('a worker that exits gives back the slots it held, and only those', async () => {
    const { primary, workers } = element();
    await workers[0]!.admit('acme', tight);
    await workers[1]!.admit('acme', tight);
    expect(primary.workerGone(0)).toBe(1);
    expect(primary.counters.figures()[0]!.concurrent).toBe(1);
    // A return of slots the primary never counted for that worker frees nothing.
    primary.returnLease(0, 'acme', 0, 1, 0, 0);
    expect(primary.counters.figures()[0]!.concurrent).toBe(1);
    for (const w of workers) w.close();
  });

  it('refusals by other rules are counted at the primary', async () => {
    const { primary, workers } = element();
    workers[1]!.refused('acme', 'block');
    await flush();
    expect(primary.counters.figures()).toMatchObject([{ customer: 'acme', refusals: { block: 1 } }]);
  });

  it('no answer in time: the call is admitted and counted as such; a late batch is kept', async () => {
    vi.useFakeTimers();
    const sent: WorkerToPrimary[] = [];
    const w = new IpcAdmissionCounters((m) => sent.push(m) > 0, 2, 250);
    const pending = w.admit('acme', tight);
    vi.advanceTimersByTime(250);
    expect(await pending).toEqual({ ok: true });
    expect(w.timedOut).toBe(1);
    const first = sent[0]!;
    expect(first.t).toBe('sg:lease');
    if (first.t === 'sg:lease') w.answer(first.id, { granted: 1 });
    expect(w.held('acme')).toMatchObject({ tokens: 1, waiting: 0 });
    expect(w.timedOut).toBe(1);
    w.close();
  });

  it('no IPC channel: admitted at once and counted', async () => {
    const w = new IpcAdmissionCounters(() => false, 2);
    expect(await w.admit('acme', tight)).toEqual({ ok: true });
    expect(w.timedOut).toBe(1);
  });
});
