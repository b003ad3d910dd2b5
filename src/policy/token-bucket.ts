/**
 * A token bucket (the calls-per-second limit of a customer), as a pure function of its state and the time.
 *
 * The bucket holds at most `burst` tokens and gains `cps` tokens a second; a call takes one. A full bucket
 * lets `burst` calls through at once after a quiet spell, and then `cps` a second on average. A bucket
 * never seen starts full. A refusal says when the next token will be there, in whole seconds and at least
 * 1: the value of Retry-After (RFC 3261 §20.33, sent with 503 per §21.5.4).
 */

export interface BucketState {
  /** Tokens left after the last take (fractional: refill is continuous). */
  readonly tokens: number;
  /** Epoch ms the tokens were counted at. */
  readonly at: number;
}

export type TakeResult =
  | { readonly ok: true; readonly state: BucketState }
  | { readonly ok: false; readonly state: BucketState; readonly retryAfterS: number };

/** Retry-After when the bucket never refills (`cps` 0): an hour, the longest an operator would want. */
export const NO_REFILL_RETRY_AFTER_S = 3600;

/** Take one token from `state` (undefined: a new, full bucket) at `nowMs`. */
export function take(state: BucketState | undefined, nowMs: number, cps: number, burst: number): TakeResult {
  const tokens = refill(state, nowMs, cps, burst);
  if (tokens >= 1) return { ok: true, state: { tokens: tokens - 1, at: nowMs } };
  const next: BucketState = { tokens, at: nowMs };
  if (!(cps > 0)) return { ok: false, state: next, retryAfterS: NO_REFILL_RETRY_AFTER_S };
  return { ok: false, state: next, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / cps)) };
}

function refill(state: BucketState | undefined, nowMs: number, cps: number, burst: number): number {
  if (state === undefined) return burst;
  // A clock that steps back gains nothing (and loses nothing).
  const elapsedMs = Math.max(0, nowMs - state.at);
  return Math.min(burst, state.tokens + (elapsedMs * cps) / 1000);
}

export interface TakeUpToResult {
  /** Tokens taken, 0..want. */
  readonly granted: number;
  readonly state: BucketState;
  /** When none was taken: seconds until the next token (as `take`). */
  readonly retryAfterS: number;
}

/**
 * Take up to `want` whole tokens at once: a cluster primary leasing a batch to a worker
 * (src/cluster/element-admission.ts). The same bucket as `take`, so the rate it lets through is the same.
 */
export function takeUpTo(
  state: BucketState | undefined,
  nowMs: number,
  cps: number,
  burst: number,
  want: number,
): TakeUpToResult {
  const tokens = refill(state, nowMs, cps, burst);
  const granted = Math.max(0, Math.min(want, Math.floor(tokens)));
  const next: BucketState = { tokens: tokens - granted, at: nowMs };
  if (granted > 0) return { granted, state: next, retryAfterS: 0 };
  const retryAfterS = cps > 0 ? Math.max(1, Math.ceil((1 - tokens) / cps)) : NO_REFILL_RETRY_AFTER_S;
  return { granted, state: next, retryAfterS };
}

/** Put back `n` tokens taken but not used (a lease returned), capped at `burst` like any refill. */
export function giveBack(
  state: BucketState | undefined,
  nowMs: number,
  cps: number,
  burst: number,
  n: number,
): BucketState {
  return { tokens: Math.min(burst, refill(state, nowMs, cps, burst) + n), at: nowMs };
}
