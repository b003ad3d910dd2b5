import { type CallEndCause, callChannels, sipChannels } from '../events.js';
import type { Logger } from '../log/logger.js';
import type { SipRequest } from '../sip/message/message.js';
import { TransactionError, type TransactionLayer } from '../sip/transaction/index.js';
import { type Target, TransportError } from '../sip/transport/types.js';
import type { Call, Side } from './call.js';
import type { CallRegistry } from './call-registry.js';
import { publishEnded, type RecordKeys, tracebackObserved } from './traceback-events.js';

export interface CallTeardownOptions {
  readonly registry: CallRegistry;
  readonly transactions: TransactionLayer;
  readonly maxForwards: number;
  /** How long to wait for the A-leg ACK of a 2xx, and to keep our B-leg ACK (64*T1, RFC 3261 §13.3.1.4). */
  readonly ackTimeoutMs: number;
  readonly logger: Logger;
  readonly recordKeys: RecordKeys;
}

/**
 * How calls end: BYE on a leg (RFC 3261 §15.1), the ACKs of 2xx responses (RFC 3261 §13.2.2.4, RFC 6026 §8.1),
 * the missing-ACK teardown (§13.3.1.4), and forgetting a call once it has ended.
 */
export class CallTeardown {
  readonly #o: CallTeardownOptions;

  constructor(opts: CallTeardownOptions) {
    this.#o = opts;
  }

  /**
   * Send an ACK (no transaction, RFC 3261 §17.1.1.3), so nothing else reports its failure: a transport
   * failure is published (`stirgate:sip:send_failure`, counted and logged), any other is a bug and logged.
   */
  sendAck(ack: SipRequest, target: Target): void {
    this.#o.transactions.sendAck(ack, target).catch(this.#ackFailed);
  }

  readonly #ackFailed = (err: unknown): void => {
    if (err instanceof TransportError) {
      if (sipChannels.sendFailure.hasSubscribers)
        sipChannels.sendFailure.publish({ what: 'ack', code: err.code });
      return;
    }
    // The layer closed under us: shutdown, not a lost ACK.
    if (err instanceof TransactionError && err.code === 'closed') return;
    this.#o.logger.error({ err, event: 'ack_send_failed' }, 'ACK could not be sent');
  };

  /** ACK the B-leg's 2xx (with the caller's ACK body, if any: RFC 3264 offer in the ACK). */
  sendBLegAck(call: Call, aAck: SipRequest | undefined): void {
    const b = call.b;
    if (b === undefined || call.bInviteSeq === undefined) return;
    const ack = b.createRequest('ACK', { cseq: call.bInviteSeq, maxForwards: this.#o.maxForwards });
    if (aAck !== undefined) copyBody(aAck, ack);
    call.bAck = ack;
    // RFC 6026 §8.1: 2xx retransmissions come only while the callee's Timer L runs (64*T1); keep the ACK that
    // long, then let an established call hold nothing but its dialogs.
    call.later(this.#o.ackTimeoutMs, () => {
      if (call.bAck === ack) call.bAck = undefined;
    });
    this.sendAck(ack, b.nextHop());
  }

  /** RFC 3261 §13.3.1.4: no ACK for the 2xx we relayed to the caller: end the dialog with BYE on both legs. */
  ackTimeout(call: Call): void {
    if (call.state !== 'answered') return;
    call.log.warn({ event: 'ack_timeout' }, 'no ACK for 2xx; ending call');
    this.sendBLegAck(call, undefined);
    this.hangUpBoth(call, 'ack_timeout');
  }

  /** BYE both legs (with an RFC 3326 Reason saying why, if given), then end the call. */
  hangUpBoth(call: Call, cause: CallEndCause, reason?: string): void {
    if (!call.advance('hangup')) return;
    let pending = 2;
    const done = () => {
      if (--pending === 0) this.end(call, cause);
    };
    this.sendBye(call, 'a', done, reason);
    this.sendBye(call, 'b', done, reason);
  }

  /**
   * BYE on one leg (RFC 3261 §15.1.1); `done` runs once on its final response, timeout or transport error, or
   * at once when that leg has no dialog yet. A Reason of the BYE that caused it crosses (RFC 3326); `cause`
   * may instead be our own Reason value.
   */
  sendBye(call: Call, side: Side, done: () => void, cause?: SipRequest | string): void {
    const leg = call.leg(side);
    if (leg === undefined || leg.remoteTag === undefined) {
      done();
      return;
    }
    const bye = leg.createRequest('BYE', { maxForwards: this.#o.maxForwards });
    const reason = typeof cause === 'string' ? cause : cause?.get('reason');
    if (reason !== undefined) bye.append('reason', reason);
    const tx = this.#o.transactions.sendRequest(bye, leg.nextHop());
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      done();
    };
    tx.on('response', (res) => {
      if (res.status >= 200) finish();
    });
    tx.on('timeout', finish);
    tx.on('transportError', finish);
  }

  /** Forget an ended call; a call the element reaped (call.reapCause) ends with that cause. */
  end(call: Call, ended: CallEndCause): void {
    if (!call.advance('end')) return;
    const cause = call.reapCause ?? ended;
    // Before release(): the record is built from the A-leg INVITE if it was not published yet.
    if (tracebackObserved()) publishEnded(call, this.#o.recordKeys, cause);
    call.clearTimers();
    this.#o.registry.remove(call);
    call.release();
    if (callChannels.ended.hasSubscribers)
      callChannels.ended.publish({ trunk: call.trunk.name, role: call.trunk.role, cause });
  }
}

/** Copy a request's body with its Content-Type (ACK and re-INVITE ACK bodies). */
export function copyBody(src: SipRequest, dst: SipRequest): void {
  if (src.body.length === 0) return;
  const ct = src.get('content-type');
  if (ct !== undefined) dst.append('content-type', ct);
  dst.body = src.body;
}
