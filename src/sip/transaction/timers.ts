/**
 * Every transaction timer, derived from T1/T2/T4 in one place (RFC 3261 §17, Table 4 / Appendix A;
 * RFC 6026 §8.11 for Timers L and M). The state machines read only `TransactionTimers`.
 */
import { StirgateError } from '../../errors.js';

/** What an operator (or a test) may set. Unset timers are derived from T1/T2/T4. */
export interface TimerConfig {
  /** RTT estimate (RFC 3261 §17.1.1.1). Default 500 ms. */
  readonly t1Ms: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses. Default 4000 ms. */
  readonly t2Ms: number;
  /** Maximum time a message remains in the network. Default 5000 ms. */
  readonly t4Ms: number;
  /** INVITE transaction timeout (64*T1). */
  readonly timerBMs?: number;
  /** Wait time for response retransmits, unreliable transports (64*T1: 32 s at the default T1). */
  readonly timerDMs?: number;
  /** Non-INVITE transaction timeout (64*T1). */
  readonly timerFMs?: number;
  /** Wait time for ACK receipt (64*T1). */
  readonly timerHMs?: number;
  /** Wait time for non-INVITE request retransmits, unreliable transports (64*T1). */
  readonly timerJMs?: number;
  /** RFC 6026: INVITE server transaction lingers in Accepted (64*T1). */
  readonly timerLMs?: number;
  /** RFC 6026: INVITE client transaction lingers in Accepted (64*T1). */
  readonly timerMMs?: number;
  /**
   * RFC 3261 §16.6 step 11 (proxy Timer C, used here as the B-leg guard): an INVITE client transaction
   * in Proceeding that sees no provisional for this long cancels itself. Must exceed 3 minutes; 0 disables.
   */
  readonly timerCMs?: number;
  /** RFC 3261 §17.2.1: the INVITE server transaction sends 100 Trying if the TU is silent this long (200 ms). */
  readonly tryingMs?: number;
  /**
   * Guard for a non-INVITE server transaction whose TU never answers: after this long (64*T1, when the
   * client's Timer F has fired) the transaction gives up. Not an RFC timer; it bounds memory.
   */
  readonly serverNonInviteGuardMs?: number;
}

export const DEFAULT_TIMER_CONFIG: TimerConfig = Object.freeze({ t1Ms: 500, t2Ms: 4000, t4Ms: 5000 });

/** Resolved timer values in milliseconds. Values for unreliable transports; see `waitTimer` for reliable ones. */
export interface TransactionTimers {
  readonly t1: number;
  readonly t2: number;
  readonly t4: number;
  /** Timer A initial value (T1), doubles on each retransmission. */
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
  /** Timer E initial value (T1), doubles up to T2. */
  readonly e: number;
  readonly f: number;
  /** Timer G initial value (T1), doubles up to T2. */
  readonly g: number;
  readonly h: number;
  readonly i: number;
  readonly j: number;
  readonly k: number;
  readonly l: number;
  readonly m: number;
  readonly trying: number;
  readonly serverNonInviteGuard: number;
}

export type TimerConfigErrorCode = 'invalid_timer';

export class TimerConfigError extends StirgateError<TimerConfigErrorCode> {
  readonly key: string;
  constructor(key: string, value: unknown) {
    super('invalid_timer', `timer ${key} must be a finite number >= 0 (T1/T2/T4 > 0), got ${String(value)}`);
    this.key = key;
  }
}

/** Validate and derive (RFC 3261 Table 4). Throws TimerConfigError on a bad value. */
export function resolveTimers(config: Partial<TimerConfig> = {}): TransactionTimers {
  const t1 = base(config, 't1Ms');
  const t2 = base(config, 't2Ms');
  const t4 = base(config, 't4Ms');
  if (t2 < t1) throw new TimerConfigError('t2Ms', t2);
  const sixtyFourT1 = 64 * t1;
  return Object.freeze({
    t1,
    t2,
    t4,
    a: t1,
    b: opt(config, 'timerBMs', sixtyFourT1),
    c: opt(config, 'timerCMs', 185_000),
    // RFC 3261 Table 4: "> 32 s for UDP" — the server's Timer G/H span (64*T1), 32 s at the default T1.
    d: opt(config, 'timerDMs', sixtyFourT1),
    e: t1,
    f: opt(config, 'timerFMs', sixtyFourT1),
    g: t1,
    h: opt(config, 'timerHMs', sixtyFourT1),
    i: t4,
    j: opt(config, 'timerJMs', sixtyFourT1),
    k: t4,
    l: opt(config, 'timerLMs', sixtyFourT1),
    m: opt(config, 'timerMMs', sixtyFourT1),
    trying: opt(config, 'tryingMs', 200),
    serverNonInviteGuard: opt(config, 'serverNonInviteGuardMs', sixtyFourT1),
  });
}

/** Timers whose value is zero on reliable transports (RFC 3261 Table 4: D, I, J, K). */
export type WaitTimer = 'd' | 'i' | 'j' | 'k';

/** RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2: D, I, J and K are 0 over reliable transports. */
export function waitTimer(timers: TransactionTimers, name: WaitTimer, reliable: boolean): number {
  return reliable ? 0 : timers[name];
}

/** Next Timer A interval: doubles without a cap (RFC 3261 §17.1.1.2). */
export function nextTimerA(current: number): number {
  return current * 2;
}

/**
 * Next Timer E / Timer G / 2xx retransmit interval: doubles up to T2 (RFC 3261 §17.1.2.2, §17.2.1,
 * §13.3.1.4).
 */
export function nextCapped(current: number, timers: TransactionTimers): number {
  return Math.min(current * 2, timers.t2);
}

/** Opaque handle returned by a Clock. */
export type TimerHandle = unknown;

/** Time source for the transaction layer; injected so tests drive it by hand. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The process clock. Timers stay ref'd: a pending retransmission is work the process still has to do. */
export const realClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (fn: () => void, ms: number): TimerHandle => setTimeout(fn, ms),
  clearTimeout: (handle: TimerHandle): void => clearTimeout(handle as ReturnType<typeof setTimeout>),
});

function base(config: Partial<TimerConfig>, key: 't1Ms' | 't2Ms' | 't4Ms'): number {
  const v = config[key] ?? DEFAULT_TIMER_CONFIG[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new TimerConfigError(key, v);
  return v;
}

function opt(config: Partial<TimerConfig>, key: keyof TimerConfig, fallback: number): number {
  const v = config[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TimerConfigError(key, v);
  return v;
}
