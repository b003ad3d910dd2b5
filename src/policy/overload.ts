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
 * Rule table for the next state, one sample every `sample_ms`. A sample is *late* when a timer fired
 * `lag_high` late; it is *hot* when late, or when utilisation >= elu_high and the UDP receive backlog (the
 * fullest of the element's UDP sockets, as a share of its receive buffer) is >= backlog_high or cannot be
 * read. `streak` counts hot samples in a row. First matching row wins:
 *
 * | # | sample                                                              | next fraction                 |
 * |---|---------------------------------------------------------------------|-------------------------------|
 * | 1 | control off                                                         | 0                             |
 * | 2 | hot, streak (this one included) >= HOT_SAMPLES                      | grow                          |
 * | 3 | hot, shorter streak                                                 | prev                          |
 * | 4 | not late, and utilisation <= elu_low or backlog <= backlog_low      | shrink                        |
 * | 5 | otherwise (between the marks)                                       | prev                          |
 *
 * grow: prev + (1 - prev) * INCREASE, at most MAX_FRACTION; shrink: prev - DECREASE, at least 0.
 *
 * Why the backlog as well as utilisation: utilisation counts the time a busy process waits for a CPU, so on
 * a shared or oversubscribed host it reads 100 % while the element still keeps up (measured: 100 % in most
 * 100 ms samples at 1,500 calls/s on 2 cores shared with SIPp, with a few per cent of the receive buffer
 * queued). Refusing calls then is a false positive that callers pay for: datagrams piling up in the kernel
 * is what overload is (RFC 6357 §2: more arrives than the element can process). The backlog alone is not
 * enough either: the buffer is deep (8 MiB, some 200 ms of traffic at 1,500 calls/s), and waiting for it
 * to fill lets queueing delay reach SIP's T1, so that callers retransmit their INVITEs into the overload
 * (measured with the backlog deciding alone at 30 %: INVITE->200 p50 252 ms and 12 % more INVITEs than calls
 * at twice the maximum). So a hot sample needs both: a saturated loop and a queue that has started to grow.
 * The backlog is read from /proc/net/udp (src/app/udp-backlog.ts); where it cannot be (not Linux, no UDP
 * listener, `udp_backlog: false`) utilisation and lateness decide alone.
 *
 * Row 2 closes a share of the remaining gap (from 0 to 0.5 in ~3 samples), row 4 opens in small steps (~20
 * samples from 1 to 0), so that the element does not oscillate around its maximum. Row 3 ignores a blip:
 * one garbage-collection pause, a burst of JIT compilation at start, or the machine taking the CPU away for
 * a moment is not overload, and refusing calls for it would fail callers for nothing.
 */

export interface OverloadLimits {
  readonly enabled: boolean;
  /** Event-loop utilisation (0..1) from which the element counts as overloaded. */
  readonly eluHigh: number;
  /** Utilisation under which the refused fraction shrinks again. */
  readonly eluLow: number;
  /** Event-loop lateness (ms) from which the element counts as overloaded whatever the utilisation. */
  readonly lagHighMs: number;
  /** UDP receive backlog (0..1 of the buffer) from which a saturated loop counts as overloaded. */
  readonly backlogHigh: number;
  /** Backlog under which the refused share shrinks again. */
  readonly backlogLow: number;
}

/** One measurement over the last sample period. */
export interface OverloadSample {
  /** Event-loop utilisation, 0..1 (perf_hooks `eventLoopUtilization`). */
  readonly elu: number;
  /** How late a timer fired, ms (the maximum over the period). */
  readonly lagMs: number;
  /** The fullest UDP socket's receive queue, 0..1 of its buffer; undefined when it cannot be read. */
  readonly backlog?: number | undefined;
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
  const { backlog } = sample;
  const late = sample.lagMs >= limits.lagHighMs;
  const queued = backlog === undefined || backlog >= limits.backlogHigh;
  if (late || (sample.elu >= limits.eluHigh && queued)) {
    const streak = prev.streak + 1;
    if (streak >= HOT_SAMPLES)
      return { fraction: Math.min(MAX_FRACTION, prev.fraction + (1 - prev.fraction) * INCREASE), streak }; // row 2
    return { fraction: prev.fraction, streak }; // row 3
  }
  const drained = backlog !== undefined && backlog <= limits.backlogLow;
  if (sample.elu <= limits.eluLow || drained)
    return { fraction: Math.max(0, prev.fraction - DECREASE), streak: 0 }; // row 4
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
