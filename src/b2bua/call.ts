import type { CallEndCause } from '../events.js';
import { callLogger } from '../log/call-logger.js';
import type { Logger } from '../log/logger.js';
import type { Dialog } from '../sip/dialog/dialog.js';
import type { SipRequest } from '../sip/message/message.js';
import type { ClientTransaction, ServerTransaction } from '../sip/transaction/index.js';
import type { Clock, TimerHandle } from '../sip/transaction/timers.js';
import type { Flow } from '../sip/transport/types.js';
import { type CallEvent, type CallState, nextCallState } from './call-lifecycle.js';
import type { CallFacts } from './invite-hooks.js';
import { type LegEdit, NO_EDITS } from './leg-edits.js';
import type { TrunkRuntime } from './router.js';
import type { SessionTimerState } from './session-timer.js';

export type { CallState } from './call-lifecycle.js';

export type Side = 'a' | 'b';

export interface PendingAck {
  /** The side whose ACK we wait for (the side that sent the re-INVITE). */
  readonly from: Side;
  /** CSeq number of the re-INVITE on the other leg, which our ACK must carry. */
  readonly otherCseq: number;
  /** The 2xx we received on the other leg, to re-ACK its retransmissions. */
  ack?: SipRequest;
}

/**
 * A call is two dialogs: the A-leg (we are UAS) and the B-leg (we are UAC). Its state says how far the
 * initial INVITE got (src/b2bua/call-lifecycle.ts); in-dialog traffic is relayed between `a` and `b`
 * whatever the state.
 */
export class Call {
  readonly id: number;
  readonly trunk: TrunkRuntime;
  #state: CallState = 'routing';
  /**
   * What the trunk's hooks asked of every B-leg INVITE (src/b2bua/leg-edits.ts), kept for failover: the
   * second next hop sees what the first saw.
   */
  edits: readonly LegEdit[] = NO_EDITS;
  /** What the hooks learned about the call (signing, verification), for the traceback record. */
  facts: CallFacts = {};
  /**
   * The A-leg INVITE and its server transaction: needed until the call is answered and ACKed, then
   * released (`release()`) so an established call holds only its two dialogs.
   */
  aInvite: SipRequest | undefined;
  aTx: ServerTransaction | undefined;
  /** CSeq number of the A-leg INVITE (ACK matching, PRACK RAck mapping), kept after release. */
  readonly aInviteSeq: number;
  readonly aFlow: Flow;
  readonly aTag: string;
  readonly a: Dialog;
  b: Dialog | undefined;
  bInvite: SipRequest | undefined;
  /** CSeq number of the B-leg INVITE, kept after release. */
  bInviteSeq: number | undefined;
  bTx: ClientTransaction | undefined;
  hopIndex = 0;
  /** The ACK we sent for the B-leg 2xx, re-sent when the 2xx is retransmitted (RFC 3261 §13.2.2.4). */
  bAck: SipRequest | undefined;
  /**
   * Re-INVITE ACK mapping: `<side>:<cseq>` of the re-INVITE -> the other leg's CSeq and our ACK. Made on
   * first use, like `#timers`: an established call with neither costs nothing for them.
   */
  #pendingAcks: Map<string, PendingAck> | undefined;
  #timers: Set<TimerHandle> | undefined;
  readonly #clock: Clock;
  /**
   * Undo actions run by release(): listeners this call put on its INVITE transactions, which would keep the
   * whole call reachable for as long as those transactions wait in RFC 6026 Accepted (Timer L/M, 64*T1).
   */
  #onRelease: (() => void)[] | undefined;
  /** Run once when the call reaches `ended` (InviteContext.onCallEnd). */
  #onEnd: (() => void)[] | undefined;
  /** process.hrtime.bigint() when the A-leg INVITE arrived (INVITE processing time). */
  receivedAt = 0n;
  /** Wall clock (epoch ms) when the A-leg INVITE arrived, and when its 2xx was relayed (traceback record). */
  startedAtMs = 0;
  answeredAtMs: number | undefined;
  /** The final status the caller got for the INVITE. */
  finalStatus: number | undefined;
  /** The hop the call's traceback record named (failover moves the call on). */
  recordedHop: number | undefined;
  /** The key of its traceback record (src/b2bua/traceback-events.ts), given when first published. */
  recordKey: string | undefined;
  /** The TCP connection the B-leg's answers came on (src/b2bua/call-reaper.ts), once known. */
  bConnectionId: number | undefined;
  /** The RFC 4028 session timer in force, from the answer on (src/b2bua/session-timer.ts). */
  sessionTimer: SessionTimerState | undefined;
  /** The pending session expiry (re-armed by each refresh). */
  sessionExpiry: TimerHandle | undefined;
  /**
   * Why the element is ending the call on its own (src/b2bua/call-reaper.ts): the end cause recorded
   * whatever path (CANCEL answered, BYE answered or timed out) then ends it.
   */
  reapCause: CallEndCause | undefined;
  readonly #parentLog: Logger;
  #log: Logger | undefined;

  constructor(init: {
    id: number;
    trunk: TrunkRuntime;
    aInvite: SipRequest;
    aTx: ServerTransaction;
    aFlow: Flow;
    aTag: string;
    a: Dialog;
    log: Logger;
    clock: Clock;
  }) {
    this.id = init.id;
    this.trunk = init.trunk;
    this.aInvite = init.aInvite;
    this.aInviteSeq = init.aInvite.cseq.seq;
    this.aTx = init.aTx;
    this.aFlow = init.aFlow;
    this.aTag = init.aTag;
    this.a = init.a;
    this.#parentLog = init.log;
    this.#clock = init.clock;
  }

  get state(): CallState {
    return this.#state;
  }

  /**
   * Move along the lifecycle table. Returns false, changing nothing, when `event` does not apply in the
   * current state.
   */
  advance(event: CallEvent): boolean {
    const next = nextCallState(this.#state, event);
    if (next === undefined) return false;
    this.#state = next;
    if (next === 'ended' && this.#onEnd !== undefined) {
      const fns = this.#onEnd;
      this.#onEnd = undefined;
      for (const fn of fns) fn();
    }
    return true;
  }

  /** Run `fn` when the call ends (once; `ended` is final), or now if it has (an async hook finished late). */
  onEnd(fn: () => void): void {
    if (this.#state === 'ended') {
      fn();
      return;
    }
    this.#onEnd ??= [];
    this.#onEnd.push(fn);
  }

  /**
   * Child logger with the call's ids bound once (src/log/call-logger.ts), made on first use: most calls
   * never log, and a pino child per call would cost time and memory on every one.
   */
  get log(): Logger {
    this.#log ??= callLogger(this.#parentLog, {
      call: this.id,
      callId: this.a.callId,
      trunk: this.trunk.name,
      role: this.trunk.role,
    });
    return this.#log;
  }

  /**
   * Drop what an established call no longer needs: the INVITEs, the A-leg INVITE transaction, and the hooks'
   * edits and facts (no B-leg INVITE is built after the answer, and the traceback record was published when
   * the call was forwarded). The edits hold the Identity header and the facts the PASSporT: ~0.8 KiB a call.
   */
  release(): void {
    const undo = this.#onRelease;
    this.#onRelease = undefined;
    if (undo !== undefined) for (const fn of undo) fn();
    this.aInvite = undefined;
    this.aTx = undefined;
    this.bInvite = undefined;
    this.bTx = undefined;
    this.edits = NO_EDITS;
    this.facts = RELEASED_FACTS;
  }

  /** Run `fn` at release() (once). */
  onRelease(fn: () => void): void {
    this.#onRelease ??= [];
    this.#onRelease.push(fn);
  }

  leg(side: Side): Dialog | undefined {
    return side === 'a' ? this.a : this.b;
  }

  get ended(): boolean {
    return this.#state === 'ended';
  }

  /** The caller gave up (CANCEL) or the call has ended: nothing more is relayed to the A-leg. */
  get abandoned(): boolean {
    return this.#state === 'cancelling' || this.#state === 'ended';
  }

  /** The re-INVITE ACK map if one was made (reading it makes none). */
  get pendingAcksIfAny(): ReadonlyMap<string, PendingAck> | undefined {
    return this.#pendingAcks;
  }

  get pendingAcks(): Map<string, PendingAck> {
    this.#pendingAcks ??= new Map();
    return this.#pendingAcks;
  }

  /** Run `fn` after `ms` on the call's clock, unless the call ends first (clearTimers) or `cancelLater`. */
  later(ms: number, fn: () => void): TimerHandle {
    this.#timers ??= new Set();
    const timers = this.#timers;
    const clock = this.#clock;
    const t = clock.setTimeout(() => {
      timers.delete(t);
      if (timers.size === 0 && this.#timers === timers) this.#timers = undefined;
      fn();
    }, ms);
    timers.add(t);
    return t;
  }

  /** Stop one timer set by `later`. */
  cancelLater(t: TimerHandle): void {
    if (this.#timers?.delete(t) !== true) return;
    this.#clock.clearTimeout(t);
    if (this.#timers.size === 0) this.#timers = undefined;
  }

  clearTimers(): void {
    if (this.#timers === undefined) return;
    for (const t of this.#timers) this.#clock.clearTimeout(t);
    this.#timers = undefined;
  }
}

/** The facts of every released call: nothing left to record, and nothing may write here. */
const RELEASED_FACTS: CallFacts = Object.freeze({});

export function other(side: Side): Side {
  return side === 'a' ? 'b' : 'a';
}
