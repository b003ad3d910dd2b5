/**
 * Overload control: what fraction of new INVITEs to refuse, and the Retry-After each refusal carries. Pure
 * functions over one load sample; the detector (src/app/overload-detector.ts) measures, the B2BUA sheds.
 *
 * Why not a bare 503 (RFC 6357 §3-4): RFC 3261 §21.5.4 lets an upstream that receives a 503 with Retry-After
 * send nothing at all to this element for that long, and one that receives a 503 without one retry at
 * once, so an element that answers every request with 503 while overloaded swings between idle and swamped
 * ("on/off" control) and its neighbours' retries arrive together. What this element does instead:
 * - it refuses a fraction of the new INVITEs (a loss-based throttle, RFC 6357 §5.1, the "loss" algorithm
 *   of RFC 7339 §5 applied locally), grown while the event loop is saturated and shrunk once it is not,
 *   so that it keeps completing the calls it can at its maximum rate instead of none;
 * - each refusal is cheap: a stateless 503 (RFC 3261 §8.2.7) before any transaction, trunk match, dialog or
 *   hook chain (RFC 6357 §3: work spent on a request that is then refused is what makes goodput collapse);
 * - each 503 names a Retry-After drawn uniformly from [retry_after_s, retry_after_s + jitter], so the
 *   callers that honour it come back spread out, not as one wave (RFC 3261 §21.5.4);
 * - requests inside a dialog and responses are never refused: admitted calls finish (RFC 6357 §4).
 * GAP(RFC 7339): no `oc` Via parameters: the throttle is not signalled to upstream elements that could
 * apply it before sending.
 *
 * Rule table for the next state, one sample every `sample_ms`; a sample is *hot* when utilisation >= elu_high
 * or lateness >= lag_high, and `streak` counts hot samples in a row. First matching row wins:
 *
 * | # | sample                                           | next fraction                             |
 * |---|--------------------------------------------------|-------------------------------------------|
 * | 1 | control off                                      | 0                                         |
 * | 2 | hot, streak (this one included) >= HOT_SAMPLES   | prev + (1 - prev) * INCREASE, at most MAX |
 * | 3 | hot, shorter streak                              | prev                                      |
 * | 4 | utilisation <= elu_low and not late              | prev - DECREASE, at least 0               |
 * | 5 | otherwise (between the marks)                    | prev                                      |
 *
 * Row 2 closes a share of the remaining gap (a fast rise: from 0 to 0.5 in ~3 samples), row 4 opens in small
 * steps (a slow fall: ~20 samples from 1 to 0), so that the element does not oscillate around its maximum.
 * Row 3 ignores a blip: one garbage-collection pause, a burst of JIT compilation at start, or the machine
 * taking the CPU away for a moment is not overload, and refusing calls for it would fail callers for nothing.
 */

export interface OverloadLimits {
  readonly enabled: boolean;
  /** Event-loop utilisation (0..1) from which the element counts as overloaded. */
  readonly eluHigh: number;
  /** Utilisation under which the refused fraction shrinks again. */
  readonly eluLow: number;
  /** Event-loop lateness (ms) from which the element counts as overloaded whatever the utilisation. */
  readonly lagHighMs: number;
}

/** One measurement over the last sample period. */
export interface OverloadSample {
  /** Event-loop utilisation, 0..1 (perf_hooks `eventLoopUtilization`). */
  readonly elu: number;
  /** How late a timer fired, ms (the maximum over the period). */
  readonly lagMs: number;
}

/** The throttle between samples: the fraction refused now and the run of hot samples that led to it. */
export interface OverloadState {
  readonly fraction: number;
  readonly streak: number;
}

export const CALM: OverloadState = { fraction: 0, streak: 0 };

/** Hot samples in a row before the fraction grows (row 2): 3 samples of 100 ms by default. */
export const HOT_SAMPLES = 3;
/** Share of the gap to MAX_FRACTION closed per hot sample (row 2). */
export const INCREASE = 0.2;
/** Step by which the fraction falls per calm sample (row 4). */
export const DECREASE = 0.05;
/** Never refuse every new call: a few still probe whether the element has recovered. */
export const MAX_FRACTION = 0.98;

/** The throttle after `sample`, given the one before it (table above). */
export function nextOverloadState(
  prev: OverloadState,
  sample: OverloadSample,
  limits: OverloadLimits,
): OverloadState {
  if (!limits.enabled) return CALM; // row 1
  const late = sample.lagMs >= limits.lagHighMs;
  if (sample.elu >= limits.eluHigh || late) {
    const streak = prev.streak + 1;
    if (streak >= HOT_SAMPLES)
      return { fraction: Math.min(MAX_FRACTION, prev.fraction + (1 - prev.fraction) * INCREASE), streak }; // row 2
    return { fraction: prev.fraction, streak }; // row 3
  }
  if (sample.elu <= limits.eluLow) return { fraction: Math.max(0, prev.fraction - DECREASE), streak: 0 }; // row 4
  return { fraction: prev.fraction, streak: 0 }; // row 5
}

/** Whether to refuse this new INVITE: `random` is uniform in [0, 1) (Math.random in the element). */
export function shouldShed(fraction: number, random: number): boolean {
  return random < fraction;
}

/**
 * The Retry-After of one refusal, whole seconds (RFC 3261 §20.33: delta-seconds), uniform in
 * [base, base + jitter]: `random` is uniform in [0, 1).
 */
export function retryAfterSeconds(baseS: number, jitterS: number, random: number): number {
  return baseS + Math.floor(random * (jitterS + 1));
}
