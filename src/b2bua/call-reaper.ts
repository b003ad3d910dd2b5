import type { CallEndCause } from '../events.js';
import type { SipResponse } from '../sip/message/message.js';
import type { ConnectionClosed } from '../sip/transport/index.js';
import type { Call, Side } from './call.js';
import type { CallRegistry } from './call-registry.js';
import type { CallTeardown } from './call-teardown.js';
import { type SessionTimerConfig, sessionAtAnswer, sessionAtRefresh } from './session-timer.js';

/** Calls the element ends on its own because an end went away. */
export type ReapCause = Extract<CallEndCause, 'connection_lost' | 'session_expired' | 'max_duration'>;

/**
 * RFC 3326 Reason of the BYE (or CANCEL) we send for each, in Q.850 terms a carrier's records read: 41
 * temporary failure (the connection went), 102 recovery on timer expiry (no refresh, or the duration limit).
 */
export const REAP_REASON = {
  connection_lost: 'Q.850;cause=41;text="connection lost"',
  session_expired: 'Q.850;cause=102;text="session timer expired"',
  max_duration: 'Q.850;cause=102;text="maximum call duration"',
} as const satisfies Record<ReapCause, string>;

/** Closes that mean the peer went away; the others (idle, local, framing, backpressure) were our choice. */
const PEER_GONE: ReadonlySet<ConnectionClosed['reason']> = new Set(['peer', 'error']);

/** What the reaper asks of call setup for a call not yet answered (src/b2bua/call-setup.ts). */
export interface SetupActions {
  /** RFC 3261 §9.2 as if the caller had CANCELled: 487 to A, CANCEL (with `reason`) to B. */
  abandon(call: Call, reason: string): void;
  /** The B-leg's connection is gone before the answer: the next hop, else 503 to the caller. */
  hopLost(call: Call): void;
}

export interface CallReaperOptions {
  readonly registry: CallRegistry;
  readonly teardown: CallTeardown;
  readonly sessionTimers: SessionTimerConfig;
  /** 0: no limit. */
  readonly maxCallDurationMs: number;
  /** Call setup, bound after construction (it needs the reaper too). */
  readonly setup: () => SetupActions;
}

/**
 * Every call ends, even when an end goes away without a BYE: a lost TCP connection on either leg
 * (RFC 3261 §18: the connection carried the dialog's messages; before the answer we CANCEL the B-leg,
 * §9.1), an RFC 4028 session that was not refreshed in time (src/b2bua/session-timer.ts), and
 * `sip.max_call_duration_s`. A reaped call ends once, logged once (`call_reaped`) and counted by its cause
 * (`stirgate_calls_ended_total{cause}`).
 */
export class CallReaper {
  readonly #o: CallReaperOptions;

  constructor(opts: CallReaperOptions) {
    this.#o = opts;
  }

  /** A TCP connection closed: the calls with a leg on it end when the peer went away. */
  connectionClosed(closed: ConnectionClosed): void {
    const calls = this.#o.registry.takeConnection(closed.connectionId);
    if (!PEER_GONE.has(closed.reason)) return;
    for (const call of calls) {
      const side: Side = call.aFlow.connectionId === closed.connectionId ? 'a' : 'b';
      this.reap(call, 'connection_lost', side);
    }
  }

  /** The B-leg's answers come on TCP connection `id`: the call ends if it closes. */
  bLegConnection(call: Call, id: number): void {
    if (call.bConnectionId === id) return;
    call.bConnectionId = id;
    this.#o.registry.bindConnection(call, id);
  }

  /** The 2xx relayed to A (`out`): the session timer (adding RFC 4028 §9's headers to `out`), the duration limit. */
  answered(call: Call, bOk: SipResponse, out: SipResponse): void {
    const max = this.#o.maxCallDurationMs;
    if (max > 0) call.later(max, () => this.reap(call, 'max_duration'));
    const cfg = this.#o.sessionTimers;
    if (!cfg.enabled) return;
    call.sessionTimer = sessionAtAnswer(call, bOk, out, cfg);
    this.#armSession(call);
  }

  /** A re-INVITE or UPDATE answered 2xx (`toA`: the 2xx we relay to A, when it goes that way): RFC 4028 §10. */
  refreshed(call: Call, ok: SipResponse, toA: SipResponse | undefined): void {
    const state = call.sessionTimer;
    if (state === undefined || call.ended) return;
    sessionAtRefresh(state, ok, toA);
    this.#armSession(call);
  }

  #armSession(call: Call): void {
    const state = call.sessionTimer;
    if (state === undefined) return;
    if (call.sessionExpiry !== undefined) call.cancelLater(call.sessionExpiry);
    call.sessionExpiry = call.later(state.intervalS * 1000, () => {
      call.sessionExpiry = undefined;
      this.reap(call, 'session_expired');
    });
  }

  /**
   * End `call` because of `cause`; `lost` is the leg that went away (no BYE goes there). Before the answer
   * the call is abandoned as if cancelled; after it, BYE on the legs still there, with a Reason.
   */
  reap(call: Call, cause: ReapCause, lost?: Side): void {
    if (call.reapCause !== undefined || call.ended) return;
    const reason = REAP_REASON[cause];
    const teardown = this.#o.teardown;
    switch (call.state) {
      case 'routing':
      case 'calling':
      case 'early':
        if (lost === 'b') {
          // Not the call's end: the next hop may still take it.
          this.#o.setup().hopLost(call);
          return;
        }
        call.reapCause = cause;
        this.#logReaped(call, cause, lost);
        this.#o.setup().abandon(call, reason);
        return;
      case 'answered':
      case 'confirmed': {
        call.reapCause = cause;
        this.#logReaped(call, cause, lost);
        // RFC 3261 §13.2.2.4: the B-leg's 2xx is ACKed before its BYE.
        if (call.state === 'answered') teardown.sendBLegAck(call, undefined);
        if (lost === undefined) {
          teardown.hangUpBoth(call, cause, reason);
          return;
        }
        if (!call.advance('hangup')) return;
        // GAP(RFC 3261 §15): in `answered` the caller's ACK has not come yet; we BYE without waiting for it,
        // since the other leg is gone.
        teardown.sendBye(call, lost === 'a' ? 'b' : 'a', () => teardown.end(call, cause), reason);
        return;
      }
      default:
        // cancelling, ending: already on its way out, and ends by the path that started.
        return;
    }
  }

  #logReaped(call: Call, cause: ReapCause, lost: Side | undefined): void {
    call.log.warn(
      { event: 'call_reaped', cause, state: call.state, ...(lost !== undefined ? { lost } : {}) },
      'call ended by the element',
    );
  }
}
