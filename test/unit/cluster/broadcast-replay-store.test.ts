import { describe, expect, it } from 'vitest';
import {
  BroadcastReplayStore,
  FLUSH_MS,
  type ReplaySeen,
  recordWorkerKeys,
} from '../../../src/cluster/broadcast-replay-store.js';
import { MemoryReplayStore } from '../../../src/stir/replay-store.js';

/** Past the store's batching delay. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, FLUSH_MS + 5));

/** Two workers and a primary wired as src/cluster/primary.ts relays `sg:replay_seen`. */
function cluster() {
  const primary = new MemoryReplayStore({ max: 1000 });
  const late: string[] = [];
  const workers: BroadcastReplayStore[] = [];
  const sent: ReplaySeen[] = [];
  for (let i = 0; i < 2; i++) {
    workers.push(
      new BroadcastReplayStore((m) => {
        sent.push(m);
        late.push(...recordWorkerKeys(primary, m));
        for (const [j, w] of workers.entries()) if (j !== i) w.learn(m.keys, m.ttlMs);
        return true;
      }, 1000),
    );
  }
  return { primary, workers, late, sent };
}

describe('BroadcastReplayStore', () => {
  it('answers synchronously and catches a replay in the same worker at once', () => {
    const { workers } = cluster();
    expect(workers[0]!.seen('r1', 60_000)).toBe(false);
    expect(workers[0]!.seen('r1', 60_000)).toBe(true);
  });

  it('sends the keys recorded within FLUSH_MS as one batch, then the other worker knows them', async () => {
    const { workers, sent } = cluster();
    workers[0]!.seen('a', 60_000);
    workers[0]!.seen('b', 60_000);
    expect(sent).toEqual([]);
    await nextTurn();
    expect(sent).toEqual([{ t: 'sg:replay_seen', keys: ['a', 'b'], ttlMs: 60_000 }]);
    expect(workers[1]!.seen('a', 60_000)).toBe(true);
    expect(workers[1]!.seen('b', 60_000)).toBe(true);
    await nextTurn();
    expect(sent).toHaveLength(1); // learnt keys are not sent back
  });

  it('a token used in both workers before its key crossed passes twice and the primary counts a late replay', async () => {
    const { workers, late } = cluster();
    expect(workers[0]!.seen('t', 60_000)).toBe(false);
    expect(workers[1]!.seen('t', 60_000)).toBe(false);
    await nextTurn();
    expect(late).toEqual(['t']);
    // Every later use, in either worker, is a replay.
    expect(workers[0]!.seen('t', 60_000)).toBe(true);
    expect(workers[1]!.seen('t', 60_000)).toBe(true);
  });

  it('keeps catching its own replays with no primary to send to', async () => {
    const w = new BroadcastReplayStore(() => false, 10);
    expect(w.seen('x', 60_000)).toBe(false);
    await nextTurn();
    expect(w.seen('x', 60_000)).toBe(true);
  });

  it('flushes a batch when the TTL changes, so each key keeps its own window', async () => {
    const sent: ReplaySeen[] = [];
    const w = new BroadcastReplayStore((m) => {
      sent.push(m);
      return true;
    }, 10);
    w.seen('a', 60_000);
    w.seen('b', 30_000);
    await nextTurn();
    expect(sent).toEqual([
      { t: 'sg:replay_seen', keys: ['a'], ttlMs: 60_000 },
      { t: 'sg:replay_seen', keys: ['b'], ttlMs: 30_000 },
    ]);
  });
});
