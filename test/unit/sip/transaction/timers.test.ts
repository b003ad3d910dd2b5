import { describe, expect, it } from 'vitest';
import {
  nextCapped,
  nextTimerA,
  resolveTimers,
  TimerConfigError,
  waitTimer,
} from '../../../../src/sip/transaction/timers.js';
import { FakeClock } from '../../../support/fake-clock.js';

describe('transaction timers (RFC 3261 Table 4, RFC 6026)', () => {
  it('derives every timer from the defaults T1=500, T2=4000, T4=5000', () => {
    const t = resolveTimers();
    expect(t).toMatchObject({ t1: 500, t2: 4000, t4: 5000, a: 500, e: 500, g: 500 });
    expect(t).toMatchObject({ b: 32_000, f: 32_000, h: 32_000, j: 32_000, l: 32_000, m: 32_000, d: 32_000 });
    expect(t).toMatchObject({ i: 5000, k: 5000, trying: 200 });
    expect(t.c).toBeGreaterThan(180_000);
    expect(Object.isFrozen(t)).toBe(true);
  });

  it('follows T1/T2/T4 and takes explicit overrides', () => {
    const t = resolveTimers({ t1Ms: 100, t2Ms: 1000, t4Ms: 2000, timerDMs: 40_000, tryingMs: 0 });
    expect(t).toMatchObject({
      a: 100,
      b: 6400,
      f: 6400,
      h: 6400,
      j: 6400,
      l: 6400,
      m: 6400,
      i: 2000,
      k: 2000,
    });
    expect(t.d).toBe(40_000);
    expect(t.trying).toBe(0);
  });

  it('zeroes D, I, J, K on reliable transports', () => {
    const t = resolveTimers();
    for (const name of ['d', 'i', 'j', 'k'] as const) {
      expect(waitTimer(t, name, true)).toBe(0);
      expect(waitTimer(t, name, false)).toBe(t[name]);
    }
  });

  it('Timer A doubles without a cap; E/G/2xx double up to T2', () => {
    const t = resolveTimers();
    const a = [500];
    const e = [500];
    for (let i = 0; i < 6; i++) {
      a.push(nextTimerA(a.at(-1)!));
      e.push(nextCapped(e.at(-1)!, t));
    }
    expect(a).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 32_000]);
    expect(e).toEqual([500, 1000, 2000, 4000, 4000, 4000, 4000]);
  });

  it('rejects bad values with a stable code and the key', () => {
    for (const bad of [{ t1Ms: 0 }, { t1Ms: Number.NaN }, { t2Ms: 100 }, { timerBMs: -1 }, { t4Ms: -5 }]) {
      let err: unknown;
      try {
        resolveTimers(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TimerConfigError);
      expect((err as TimerConfigError).code).toBe('invalid_timer');
      expect(Object.keys(bad)).toContain((err as TimerConfigError).key);
    }
  });
});

describe('FakeClock', () => {
  it('fires in due order, FIFO on ties, including timers set while firing', () => {
    const c = new FakeClock();
    const log: string[] = [];
    c.setTimeout(() => log.push('b@20'), 20);
    c.setTimeout(() => {
      log.push('a@10');
      c.setTimeout(() => log.push('c@15'), 5);
    }, 10);
    c.setTimeout(() => log.push('d@20'), 20);
    const gone = c.setTimeout(() => log.push('never'), 15);
    c.clearTimeout(gone);
    expect(c.pending).toBe(3);
    expect(c.advance(19)).toBe(2);
    expect(c.now()).toBe(19);
    c.advance(1);
    expect(log).toEqual(['a@10', 'c@15', 'b@20', 'd@20']);
    expect(c.pending).toBe(0);
    expect(c.nextDue()).toBeUndefined();
  });

  it('runAll stops runaway timer chains', () => {
    const c = new FakeClock();
    const loop = () => c.setTimeout(loop, 1);
    loop();
    expect(() => c.runAll(50)).toThrow(/still 1 timers/);
  });
});
