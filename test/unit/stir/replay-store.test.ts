import { describe, expect, it } from 'vitest';
import { MemoryReplayStore } from '../../../src/stir/replay-store.js';

describe('MemoryReplayStore', () => {
  it('reports a key seen within its TTL, records it the first time', () => {
    let now = 1_700_000_000_000;
    const s = new MemoryReplayStore({ max: 100, now: () => now });
    expect(s.seen('sig-a', 65_000)).toBe(false);
    expect(s.seen('sig-a', 65_000)).toBe(true);
    expect(s.seen('sig-b', 65_000)).toBe(false);
    now += 64_999;
    expect(s.seen('sig-a', 65_000)).toBe(true);
    now += 2;
    // Expired: recorded afresh.
    expect(s.seen('sig-a', 65_000)).toBe(false);
    expect(s.seen('sig-a', 65_000)).toBe(true);
  });

  it('is bounded: the oldest keys are dropped when full', () => {
    const s = new MemoryReplayStore({ max: 3, now: () => 1_700_000_000_000 });
    for (const k of ['a', 'b', 'c', 'd']) expect(s.seen(k, 60_000)).toBe(false);
    expect(s.size).toBe(3);
    expect(s.seen('d', 60_000)).toBe(true);
    expect(s.seen('a', 60_000)).toBe(false); // evicted, so not detected: a bounded miss, never a false replay
  });

  it('works with the default clock', () => {
    const s = new MemoryReplayStore({ max: 10 });
    expect(s.seen('x', 1000)).toBe(false);
    expect(s.seen('x', 1000)).toBe(true);
  });

  it('lists its keys with the time each has left, without the expired ones', () => {
    let now = 1_700_000_000_000;
    const s = new MemoryReplayStore({ max: 10, now: () => now });
    s.seen('a', 10_000);
    now += 4_000;
    s.seen('b', 60_000);
    s.seen('c', 1_000);
    now += 2_000; // c has expired
    expect(s.entries().sort()).toEqual([
      ['a', 4_000],
      ['b', 58_000],
    ]);
  });
});
