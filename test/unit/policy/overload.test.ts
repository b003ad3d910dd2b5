import { describe, expect, it } from 'vitest';
import {
  DECREASE,
  INCREASE,
  MAX_FRACTION,
  nextShedFraction,
  type OverloadLimits,
  retryAfterSeconds,
  shouldShed,
} from '../../../src/policy/overload.js';

const limits: OverloadLimits = { enabled: true, eluHigh: 0.9, eluLow: 0.75, lagHighMs: 100 };

describe('nextShedFraction', () => {
  it('row 1: control off never sheds, however loaded', () => {
    expect(nextShedFraction(0.5, { elu: 1, lagMs: 5_000 }, { ...limits, enabled: false })).toBe(0);
  });

  it('row 2: a saturated loop raises the fraction quickly, never to 1', () => {
    let f = 0;
    const seen: number[] = [];
    for (let i = 0; i < 100; i++) {
      f = nextShedFraction(f, { elu: 0.99, lagMs: 0 }, limits);
      seen.push(f);
    }
    expect(seen[0]).toBeCloseTo(INCREASE, 9);
    expect(seen.findIndex((x) => x >= 0.5)).toBeLessThanOrEqual(3);
    expect(f).toBeLessThanOrEqual(MAX_FRACTION);
    expect(f).toBeGreaterThan(0.97);
  });

  it('row 2: lateness alone counts as overload (a loop blocked by long tasks)', () => {
    expect(nextShedFraction(0, { elu: 0.3, lagMs: 100 }, limits)).toBeGreaterThan(0);
    expect(nextShedFraction(0, { elu: 0.3, lagMs: 99 }, limits)).toBe(0);
  });

  it('row 3: a calm loop lowers the fraction by small steps to 0', () => {
    expect(nextShedFraction(0.5, { elu: 0.75, lagMs: 0 }, limits)).toBeCloseTo(0.5 - DECREASE, 9);
    let f = MAX_FRACTION;
    let samples = 0;
    while (f > 0) {
      f = nextShedFraction(f, { elu: 0.2, lagMs: 1 }, limits);
      samples++;
    }
    expect(samples).toBe(Math.ceil(MAX_FRACTION / DECREASE));
  });

  it('row 4: between the marks the fraction holds', () => {
    expect(nextShedFraction(0.3, { elu: 0.8, lagMs: 10 }, limits)).toBe(0.3);
    expect(nextShedFraction(0, { elu: 0.89, lagMs: 10 }, limits)).toBe(0);
  });
});

describe('shouldShed', () => {
  it('refuses when the draw falls under the fraction', () => {
    expect(shouldShed(0, 0)).toBe(false);
    expect(shouldShed(0.25, 0.2499)).toBe(true);
    expect(shouldShed(0.25, 0.25)).toBe(false);
  });
});

describe('retryAfterSeconds', () => {
  it('spreads whole seconds uniformly over [base, base + jitter]', () => {
    expect(retryAfterSeconds(5, 5, 0)).toBe(5);
    expect(retryAfterSeconds(5, 5, 0.9999)).toBe(10);
    const counts = new Map<number, number>();
    for (let i = 0; i < 600; i++) {
      const s = retryAfterSeconds(5, 5, i / 600);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9, 10]);
    for (const n of counts.values()) expect(n).toBe(100);
  });

  it('no jitter gives the base', () => {
    expect(retryAfterSeconds(3, 0, 0.99)).toBe(3);
  });
});
