/** Background pruning with the fake clock over a real SQLite file: old rows go in batches, new rows stay. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_PRUNE_INTERVAL_MS,
  DEFAULT_PRUNE_PAUSE_MS,
  RetentionPruner,
} from '../../../src/traceback/retention.js';
import { SqliteTracebackStore } from '../../../src/traceback/sqlite-store.js';
import type { TracebackStore } from '../../../src/traceback/store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { signedCall, T0, tmpDir } from './traceback-fixtures.js';

const DAY = 86_400_000;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Lets the pruner's promise callbacks run (the store answers with resolved promises). */
const settle = () => new Promise((r) => setImmediate(r));

async function setup() {
  const t = tmpDir();
  const store = SqliteTracebackStore.open(t.file);
  cleanups.push(t.cleanup, () => store.close());
  // 25 records a day old or more (one per hour from 49 h back), 10 from the last hour.
  const now = T0 + 100 * DAY;
  const old = Array.from({ length: 25 }, (_, i) =>
    signedCall(i, { time: now - 2 * DAY - i * 3_600_000 + 1 }),
  );
  const recent = Array.from({ length: 10 }, (_, i) => signedCall(100 + i, { time: now - i * 60_000 }));
  await store.write([...old, ...recent]);
  const clock = new FakeClock(0);
  const calls: number[] = [];
  const counting: Pick<TracebackStore, 'prune'> = {
    prune: async (before, limit) => {
      const n = await store.prune(before, limit);
      calls.push(n);
      return n;
    },
  };
  const remaining = async () =>
    (
      await store.query({
        by: 'origid',
        origid: old[0]!.signed!.origid,
        window: { from: now - 30 * DAY, to: now },
        limit: 100,
      })
    ).records.map((r) => r.time);
  return { store, clock, calls, counting, now, remaining, recent };
}

describe('RetentionPruner', () => {
  it('deletes what is older than the retention in batches, pausing between them, and keeps the rest', async () => {
    const { clock, calls, counting, now, remaining, recent } = await setup();
    const passes: number[] = [];
    const pruner = new RetentionPruner({
      store: counting,
      retentionDays: 2,
      clock,
      now: () => now + clock.now(),
      batchRows: 10,
      onPass: (n) => passes.push(n),
    });
    pruner.start();
    cleanups.push(() => pruner.stop());
    // Nothing before the first pass (a minute after start).
    clock.advance(59_999);
    await settle();
    expect(calls).toEqual([]);
    clock.advance(1);
    await settle();
    expect(calls).toEqual([10]);
    // The next batch waits for the pause: the writer gets the lock in between.
    clock.advance(DEFAULT_PRUNE_PAUSE_MS - 1);
    await settle();
    expect(calls).toEqual([10]);
    clock.advance(1);
    await settle();
    clock.advance(DEFAULT_PRUNE_PAUSE_MS);
    await settle();
    expect(calls).toEqual([10, 10, 5]);
    expect(passes).toEqual([25]);
    expect(await remaining()).toEqual(recent.map((r) => r.time));
    // The next pass comes an interval later and finds nothing.
    clock.advance(DEFAULT_PRUNE_INTERVAL_MS);
    await settle();
    expect(calls).toEqual([10, 10, 5, 0]);
    expect(passes).toEqual([25, 0]);
  });

  it('time moving on makes the next pass take records that were kept', async () => {
    const { clock, counting, now, remaining } = await setup();
    const pruner = new RetentionPruner({
      store: counting,
      retentionDays: 2,
      clock,
      now: () => now + clock.now(),
      intervalMs: 2 * DAY,
      batchRows: 100,
    });
    pruner.start();
    cleanups.push(() => pruner.stop());
    clock.advance(60_000);
    await settle();
    expect(await remaining()).toHaveLength(10);
    clock.advance(2 * DAY);
    await settle();
    expect(await remaining()).toEqual([]);
  });

  it('a failing batch is reported and the pruning goes on at the next interval; stop ends it', async () => {
    const clock = new FakeClock(0);
    const errors: unknown[] = [];
    let attempts = 0;
    const pruner = new RetentionPruner({
      store: {
        prune: () => {
          attempts++;
          return Promise.reject(new Error('database is locked'));
        },
      },
      retentionDays: 90,
      clock,
      intervalMs: 1000,
      onError: (e) => errors.push(e),
    });
    pruner.start();
    clock.advance(1000);
    await settle();
    clock.advance(1000);
    await settle();
    expect(attempts).toBe(2);
    expect(errors).toHaveLength(2);
    pruner.stop();
    expect(clock.pending).toBe(0);
    clock.advance(10_000);
    await settle();
    expect(attempts).toBe(2);
  });
});
