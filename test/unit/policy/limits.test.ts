import { describe, expect, it } from 'vitest';
import { effectiveLimits } from '../../../src/policy/limits.js';

const defaults = { cps: 5, burst: 10, maxConcurrent: 20 };
const configured = { cps: 50, burst: 100, maxConcurrent: 200 };

describe('effectiveLimits', () => {
  it('override > configured > default, value by value', () => {
    expect(effectiveLimits(undefined, undefined, defaults)).toEqual(defaults);
    expect(effectiveLimits(undefined, configured, defaults)).toEqual(configured);
    expect(effectiveLimits({ cps: 1 }, configured, defaults)).toEqual({
      cps: 1,
      burst: 100,
      maxConcurrent: 200,
    });
    expect(effectiveLimits({ maxConcurrent: 3 }, undefined, defaults)).toEqual({
      cps: 5,
      burst: 10,
      maxConcurrent: 3,
    });
  });
});
