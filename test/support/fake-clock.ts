import type { Clock, TimerHandle } from '../../src/sip/transaction/timers.js';

interface FakeTimer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/**
 * A Clock driven by hand. `advance(ms)` fires every timer that falls due, in due order (timers set by a
 * firing timer run too if they fall inside the window); equal due times fire in the order they were set.
 * Timers sit in a binary min-heap; cleared ones are dropped lazily when they reach the top.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #live = new Map<number, FakeTimer>();
  readonly #heap: FakeTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`bad timeout ${ms}`);
    const t: FakeTimer = { id: ++this.#seq, due: this.#now + ms, fn };
    this.#live.set(t.id, t);
    this.#push(t);
    return t.id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#live.delete(handle);
  }

  /** Number of timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#live.size;
  }

  /** Milliseconds until the next timer is due, or undefined when none is pending. */
  nextDue(): number | undefined {
    const t = this.#peek();
    return t === undefined ? undefined : t.due - this.#now;
  }

  /** Move time forward by `ms`, firing what falls due. Returns how many timers fired. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`bad advance ${ms}`);
    const end = this.#now + ms;
    let fired = 0;
    for (;;) {
      const t = this.#peek();
      if (t === undefined || t.due > end) break;
      this.#pop();
      this.#live.delete(t.id);
      this.#now = t.due;
      if (++fired > 1_000_000) throw new Error('FakeClock: runaway timers');
      t.fn();
    }
    this.#now = end;
    return fired;
  }

  /** Fire timers until none is left, at most `limit` rounds. Returns the time advanced. */
  runAll(limit = 100_000): number {
    const start = this.#now;
    for (let i = 0; i < limit; i++) {
      const next = this.nextDue();
      if (next === undefined) return this.#now - start;
      this.advance(next);
    }
    throw new Error(`FakeClock: still ${this.#live.size} timers after ${limit} rounds`);
  }

  /** Earliest live timer, discarding cleared ones on the way. */
  #peek(): FakeTimer | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || this.#live.has(top.id)) return top;
      this.#pop();
    }
  }

  #push(t: FakeTimer): void {
    const h = this.#heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: FakeTimer, b: FakeTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.id < b.id);
}
