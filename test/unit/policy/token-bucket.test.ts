import { describe, expect, it } from 'vitest';
import { NO_REFILL_RETRY_AFTER_S, take } from '../../../src/policy/token-bucket.js';

describe('take', () => {
  it('a new bucket is full: burst calls at once, then refused', () => {
    let state: Parameters<typeof take>[0];
    for (let i = 0; i < 3; i++) {
      const r = take(state, 1_000, 1, 3);
      expect(r.ok).toBe(true);
      state = r.state;
    }
    const r = take(state, 1_000, 1, 3);
    expect(r).toMatchObject({ ok: false, retryAfterS: 1 });
  });

  it('refills cps tokens a second, capped at burst', () => {
    const empty = { tokens: 0, at: 0 };
    expect(take(empty, 99, 10, 5).ok).toBe(false);
    expect(take(empty, 100, 10, 5)).toMatchObject({ ok: true, state: { tokens: 0, at: 100 } });
    expect(take(empty, 60_000, 10, 5).state.tokens).toBe(4);
  });

  it('Retry-After is the seconds until the next token, rounded up, at least 1', () => {
    expect(take({ tokens: 0, at: 0 }, 0, 0.25, 1)).toMatchObject({ ok: false, retryAfterS: 4 });
    expect(take({ tokens: 0.5, at: 0 }, 0, 0.25, 1)).toMatchObject({ ok: false, retryAfterS: 2 });
    expect(take({ tokens: 0.9, at: 0 }, 0, 100, 1)).toMatchObject({ ok: false, retryAfterS: 1 });
  });

  it('a bucket that never refills says so with a long Retry-After', () => {
    expect(take({ tokens: 0, at: 0 }, 10_000, 0, 1)).toMatchObject({
      ok: false,
      retryAfterS: NO_REFILL_RETRY_AFTER_S,
    });
  });

  it('a clock stepping back neither adds nor removes tokens', () => {
    expect(take({ tokens: 0.5, at: 5_000 }, 1_000, 1, 2)).toMatchObject({
      ok: false,
      state: { tokens: 0.5 },
    });
  });

  it('a lowered burst caps the tokens already there', () => {
    expect(take({ tokens: 10, at: 0 }, 0, 1, 2).state.tokens).toBe(1);
  });
});
