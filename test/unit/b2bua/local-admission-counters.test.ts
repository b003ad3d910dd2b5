import { describe, expect, it } from 'vitest';
import { LocalAdmissionCounters } from '../../../src/b2bua/local-admission-counters.js';
import type { CustomerLimits } from '../../../src/policy/controls.js';

function counters(start = 1_000_000) {
  const clock = { t: start };
  return { clock, c: new LocalAdmissionCounters({ now: () => clock.t, concurrentRetryAfterS: 7 }) };
}

const limits = (cps: number, burst: number, maxConcurrent: number): CustomerLimits => ({
  cps,
  burst,
  maxConcurrent,
});

describe('LocalAdmissionCounters', () => {
  it('admits burst calls at once, then refuses for cps with the seconds until a token', () => {
    const { c } = counters();
    const l = limits(2, 3, 100);
    expect([1, 2, 3].map(() => c.admit('acme', l).ok)).toEqual([true, true, true]);
    expect(c.admit('acme', l)).toEqual({ ok: false, cause: 'cps', retryAfterS: 1 });
  });

  it('refills over time', () => {
    const { c, clock } = counters();
    const l = limits(2, 1, 100);
    expect(c.admit('acme', l).ok).toBe(true);
    expect(c.admit('acme', l).ok).toBe(false);
    clock.t += 499;
    expect(c.admit('acme', l).ok).toBe(false);
    clock.t += 1;
    expect(c.admit('acme', l).ok).toBe(true);
  });

  it('refuses for concurrent calls with the configured Retry-After, without taking a token', () => {
    const { c } = counters();
    const l = limits(1, 2, 1);
    expect(c.admit('acme', l).ok).toBe(true);
    expect(c.admit('acme', l)).toEqual({ ok: false, cause: 'concurrent', retryAfterS: 7 });
    c.release('acme');
    // The refused call took no token: one is still there.
    expect(c.admit('acme', l).ok).toBe(true);
  });

  it('a call refused for cps takes no slot', () => {
    const { c } = counters();
    const l = limits(1, 1, 1);
    expect(c.admit('acme', l).ok).toBe(true);
    c.release('acme');
    expect(c.admit('acme', l).ok).toBe(false);
    expect(c.figures()[0]?.concurrent).toBe(0);
  });

  it('release never goes below zero and ignores unknown customers', () => {
    const { c } = counters();
    c.release('nobody');
    expect(c.figures()).toEqual([]);
    c.admit('acme', limits(10, 10, 10));
    c.release('acme');
    c.release('acme');
    expect(c.figures()[0]?.concurrent).toBe(0);
  });

  it('keeps customers apart', () => {
    const { c } = counters();
    const l = limits(1, 1, 10);
    expect(c.admit('acme', l).ok).toBe(true);
    expect(c.admit('beta', l).ok).toBe(true);
    expect(c.admit('acme', l).ok).toBe(false);
  });

  it('figures: admitted in the last full second, concurrent calls and refusals by cause', () => {
    const { c, clock } = counters(5_000_000);
    const l = limits(100, 100, 100);
    for (let i = 0; i < 4; i++) c.admit('acme', l);
    c.refused('acme', 'dno');
    c.refused('acme', 'block');
    c.refused('acme', 'block');
    expect(c.figures()).toEqual([
      { customer: 'acme', cps: 0, concurrent: 4, refusals: { dno: 1, block: 2 } },
    ]);
    clock.t += 1_000;
    c.admit('acme', l);
    expect(c.figures()[0]?.cps).toBe(4);
    clock.t += 1_000;
    expect(c.figures()[0]?.cps).toBe(1);
    clock.t += 1_000;
    expect(c.figures()[0]?.cps).toBe(0);
    // A gap of more than a second forgets the old count.
    c.admit('acme', l);
    clock.t += 1_000;
    expect(c.figures()[0]?.cps).toBe(1);
  });

  it('counts its own refusals by cause', () => {
    const { c } = counters();
    c.admit('acme', limits(1, 1, 10));
    c.admit('acme', limits(1, 1, 10));
    c.admit('acme', limits(1, 1, 1));
    expect(c.figures()[0]?.refusals).toEqual({ cps: 1, concurrent: 1 });
  });
});
