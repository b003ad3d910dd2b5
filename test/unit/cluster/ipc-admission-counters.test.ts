/** The element-wide limits in a cluster: a worker asks (IpcAdmissionCounters), the primary counts (ElementAdmission). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ElementAdmission } from '../../../src/cluster/element-admission.js';
import { IpcAdmissionCounters } from '../../../src/cluster/ipc-admission-counters.js';
import type { PrimaryToWorker, WorkerToPrimary } from '../../../src/cluster/protocol.js';

const limits = { cps: 100, burst: 100, maxConcurrent: 2 };

afterEach(() => {
  vi.useRealTimers();
});

/** Two workers wired to one primary in memory, through the real message shapes. */
function element() {
  const primary = new ElementAdmission();
  const workers: IpcAdmissionCounters[] = [];
  const toWorker = (index: number, m: PrimaryToWorker) => {
    if (m.t === 'sg:admit') workers[index]!.answer(m.id, m.result);
  };
  const fromWorker = (index: number, m: WorkerToPrimary): boolean => {
    queueMicrotask(() => {
      if (m.t === 'sg:admit')
        toWorker(index, { t: 'sg:admit', id: m.id, result: primary.admit(index, m.customer, m.limits) });
      else if (m.t === 'sg:release') primary.release(index, m.customer);
      else if (m.t === 'sg:refused') primary.refused(m.customer, m.cause);
    });
    return true;
  };
  for (let i = 0; i < 2; i++) workers.push(new IpcAdmissionCounters((m) => fromWorker(i, m)));
  return { primary, workers };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('IpcAdmissionCounters with ElementAdmission', () => {
  it('the concurrent limit holds for the element: the third call is refused whichever worker has it', async () => {
    const { primary, workers } = element();
    expect(await workers[0]!.admit('acme', limits)).toEqual({ ok: true });
    expect(await workers[1]!.admit('acme', limits)).toEqual({ ok: true });
    expect(await workers[0]!.admit('acme', limits)).toMatchObject({ ok: false, cause: 'concurrent' });
    workers[1]!.release('acme');
    await flush();
    expect(await workers[0]!.admit('acme', limits)).toEqual({ ok: true });
    expect(primary.counters.figures()).toMatchObject([
      { customer: 'acme', concurrent: 2, refusals: { concurrent: 1 } },
    ]);
  });

  it('a worker that exits gives back the slots its calls held, and only those', async () => {
    const { primary, workers } = element();
    await workers[0]!.admit('acme', limits);
    await workers[1]!.admit('acme', limits);
    expect(primary.workerGone(0)).toBe(1);
    expect(primary.counters.figures()[0]!.concurrent).toBe(1);
    // A release for a slot the primary never counted for that worker frees nothing.
    primary.release(0, 'acme');
    expect(primary.counters.figures()[0]!.concurrent).toBe(1);
  });

  it('refusals by other rules are counted at the primary', async () => {
    const { primary, workers } = element();
    workers[1]!.refused('acme', 'block');
    await flush();
    expect(primary.counters.figures()).toMatchObject([{ customer: 'acme', refusals: { block: 1 } }]);
  });

  it('no answer in time: the call is admitted and counted as such; the late answer is ignored', async () => {
    vi.useFakeTimers();
    const sent: WorkerToPrimary[] = [];
    const w = new IpcAdmissionCounters((m) => sent.push(m) > 0, 250);
    const pending = w.admit('acme', limits);
    vi.advanceTimersByTime(250);
    expect(await pending).toEqual({ ok: true });
    expect(w.timedOut).toBe(1);
    const first = sent[0]!;
    expect(first.t).toBe('sg:admit');
    if (first.t === 'sg:admit') w.answer(first.id, { ok: false, cause: 'cps', retryAfterS: 1 });
    expect(w.timedOut).toBe(1);
  });

  it('no IPC channel: admitted at once and counted', async () => {
    const w = new IpcAdmissionCounters(() => false);
    expect(await w.admit('acme', limits)).toEqual({ ok: true });
    expect(w.timedOut).toBe(1);
  });
});
