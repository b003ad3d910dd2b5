import { describe, expect, it } from 'vitest';
import {
  CALM,
  DECREASE,
  HOT_SAMPLES,
  INCREASE,
  MAX_FRACTION,
  nextOverloadState,
  type OverloadLimits,
  type OverloadSample,
  type OverloadState,
  retryAfterSeconds,
  shouldShed,
} from '../../../src/policy/overload.js';

const limits: OverloadLimits = {
  enabled: true,
  eluHigh: 0.95,
  eluLow: 0.85,
  lagHighMs: 100,
  backlogHigh: 0.05,
  backlogLow: 0.01,
};
const HOT: OverloadSample = { elu: 0.99, lagMs: 0 };

/** The fractions after each of `samples`, from `from`. */
function run(from: OverloadState, samples: readonly OverloadSample[]): number[] {
  let s = from;
  return samples.map((x) => {
    s = nextOverloadState(s, x, limits);
    return s.fraction;
  });
}

describe('nextOverloadState', () => {
  it('row 1: control off never sheds, however loaded', () => {
    expect(
      nextOverloadState(
        { fraction: 0.5, streak: 9 },
        { elu: 1, lagMs: 5_000 },
        { ...limits, enabled: false },
      ),
    ).toEqual(CALM);
  });

  it('rows 2-3 (no backlog reading): a saturated loop raises the fraction after HOT_SAMPLES in a row, quickly, never to 1', () => {
    const seen = run(CALM, Array(100).fill(HOT));
    expect(seen.slice(0, HOT_SAMPLES - 1)).toEqual(Array(HOT_SAMPLES - 1).fill(0));
    expect(seen[HOT_SAMPLES - 1]).toBeCloseTo(INCREASE, 9);
    expect(seen.findIndex((x) => x >= 0.5)).toBeLessThanOrEqual(HOT_SAMPLES + 2);
    expect(seen.at(-1)).toBeLessThanOrEqual(MAX_FRACTION);
    expect(seen.at(-1)).toBeGreaterThan(0.97);
  });

  it('row 3: a blip (one hot sample between calm ones) refuses nothing', () => {
    const calm = { elu: 0.2, lagMs: 1 };
    expect(run(CALM, [HOT, calm, HOT, HOT, calm, HOT, calm])).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('row 2: lateness alone counts as hot (a loop blocked by long tasks)', () => {
    expect(run(CALM, Array(HOT_SAMPLES).fill({ elu: 0.3, lagMs: 100 })).at(-1)).toBeGreaterThan(0);
    expect(run(CALM, Array(HOT_SAMPLES).fill({ elu: 0.3, lagMs: 99 })).at(-1)).toBe(0);
  });

  it('row 4: a calm loop lowers the fraction by small steps to 0, and resets the streak', () => {
    expect(nextOverloadState({ fraction: 0.5, streak: 7 }, { elu: 0.85, lagMs: 0 }, limits)).toEqual({
      fraction: 0.5 - DECREASE,
      streak: 0,
    });
    let s: OverloadState = { fraction: MAX_FRACTION, streak: 0 };
    let samples = 0;
    while (s.fraction > 0) {
      s = nextOverloadState(s, { elu: 0.2, lagMs: 1 }, limits);
      samples++;
    }
    expect(samples).toBe(Math.ceil(MAX_FRACTION / DECREASE));
  });

  it('with a backlog reading: a saturated loop with nothing queued is not overloaded (CPU contention)', () => {
    // 100 % busy, 3 % of the receive buffer queued: the element keeps up.
    expect(run(CALM, Array(10).fill({ elu: 1, lagMs: 10, backlog: 0.03 }))).toEqual(Array(10).fill(0));
    // The same loop with datagrams piling up is, after HOT_SAMPLES.
    expect(run(CALM, Array(HOT_SAMPLES).fill({ elu: 1, lagMs: 10, backlog: 0.05 })).at(-1)).toBeCloseTo(
      INCREASE,
      9,
    );
    // A queue with a loop that is not saturated is a burst being served: not hot.
    expect(run(CALM, Array(10).fill({ elu: 0.5, lagMs: 1, backlog: 0.5 }))).toEqual(Array(10).fill(0));
    // Row 4: the queue drained, the fraction shrinks even while utilisation stays at 100 %.
    expect(
      nextOverloadState({ fraction: 0.5, streak: 5 }, { elu: 1, lagMs: 5, backlog: 0.01 }, limits),
    ).toEqual({
      fraction: 0.5 - DECREASE,
      streak: 0,
    });
    // Row 5: a saturated loop between the backlog marks: hold.
    expect(
      nextOverloadState({ fraction: 0.5, streak: 5 }, { elu: 1, lagMs: 5, backlog: 0.03 }, limits),
    ).toEqual({
      fraction: 0.5,
      streak: 0,
    });
    // Lateness is hot whatever the backlog.
    expect(run(CALM, Array(HOT_SAMPLES).fill({ elu: 0.3, lagMs: 150, backlog: 0 })).at(-1)).toBeGreaterThan(
      0,
    );
  });

  it('row 5: between the marks the fraction holds and the streak resets', () => {
    expect(nextOverloadState({ fraction: 0.3, streak: 2 }, { elu: 0.9, lagMs: 10 }, limits)).toEqual({
      fraction: 0.3,
      streak: 0,
    });
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
