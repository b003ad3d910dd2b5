import type { SipRequest, SipResponse } from '../message/message.js';
import type { Flow, Target, TransportError } from '../transport/types.js';
import type { ServerMatch } from './matching.js';
import { nextCapped, waitTimer } from './timers.js';
import {
  Outgoing,
  requestReleased,
  responseTargetOf,
  TransactionBase,
  type TransactionContext,
  type TransitionTable,
  toTagOf,
} from './transaction-base.js';
import { TransactionError } from './transaction-error.js';
import type { ServerInviteState, ServerTransaction, ServerTransactionEvents } from './types.js';

export interface ServerInviteContext extends TransactionContext {
  /**
   * Route ACKs for this 2xx (matched by dialog: Call-ID, CSeq number, From tag, To tag) to `tx`. Called
   * while `req` is still held: the transaction drops it right after.
   */
  expectAck(tx: ServerInviteTransaction, req: SipRequest, res: SipResponse): void;
}

type Input =
  | { readonly kind: 'request' }
  | { readonly kind: 'ack'; readonly ack: SipRequest }
  | { readonly kind: 'ack_2xx'; readonly ack: SipRequest }
  | { readonly kind: 'cancel'; readonly cancel: SipRequest }
  | { readonly kind: 'tu_provisional'; readonly res: SipResponse }
  | { readonly kind: 'tu_success'; readonly res: SipResponse; readonly reliable: boolean }
  | { readonly kind: 'tu_failure'; readonly res: SipResponse }
  | { readonly kind: 'timer_trying' }
  | { readonly kind: 'timer_g' }
  | { readonly kind: 'timer_h' }
  | { readonly kind: 'timer_i' }
  | { readonly kind: 'timer_l' }
  | { readonly kind: 'timer_2xx' }
  | { readonly kind: 'transport_error'; readonly err: TransportError };

const REQUEST = { kind: 'request' } as const;
const TIMER_TRYING = { kind: 'timer_trying' } as const;
const TIMER_G = { kind: 'timer_g' } as const;
const TIMER_H = { kind: 'timer_h' } as const;
const TIMER_I = { kind: 'timer_i' } as const;
const TIMER_L = { kind: 'timer_l' } as const;
const TIMER_2XX = { kind: 'timer_2xx' } as const;

/**
 * INVITE server transaction: RFC 3261 §17.2.1 (Figure 7) as updated by RFC 6026 §7.1 (Accepted state,
 * Timer L), plus the UAS core's 2xx retransmission (RFC 3261 §13.3.1.4) so the TU makes one call.
 * Inputs with no entry in a state are absorbed.
 *
 * What each state holds (parsed messages are large; the wait states hold none):
 * - proceeding: the request (100 Trying, CANCEL) and the latest provisional — as an object until a
 *   retransmitted INVITE makes us serialize it, then only its bytes;
 * - accepted: until the ACK, the 2xx passed to `respondReliably2xx` (its bytes after the first
 *   retransmission); then only the keys that match retransmitted INVITEs and ACKs;
 * - completed: on UDP the final's bytes (Timer G, retransmitted INVITEs); on reliable transports nothing;
 * - confirmed: nothing.
 */
const TABLE: TransitionTable<ServerInviteState, Input, ServerInviteTransaction> = {
  proceeding: {
    // RFC 3261 §17.2.1: a retransmitted INVITE gets the latest provisional again.
    request: (tx) => tx.resendProvisional(),
    cancel: (tx, i) => tx.passCancel(i.cancel),
    // GAP(RFC 3262 §3): a reliable provisional (100rel) is sent once; its retransmission until PRACK is
    // not done here.
    tu_provisional: (tx, i) => tx.sendProvisional(i.res),
    tu_success: (tx, i) => tx.enterAccepted(i.res, i.reliable),
    tu_failure: (tx, i) => tx.enterCompleted(i.res),
    timer_trying: (tx) => tx.sendTrying(),
    transport_error: (tx, i) => tx.transportError(i.err),
  },
  accepted: {
    // RFC 6026 §7.1: retransmitted INVITEs are absorbed; the TU's 2xx retransmissions pass through;
    // ACKs for the 2xx go to the TU (the layer passes them up).
    tu_success: (tx, i) => tx.resend2xx(i.res, i.reliable),
    ack_2xx: (tx, i) => tx.acknowledged(i.ack),
    timer_2xx: (tx) => tx.retransmit2xx(),
    timer_l: (tx) => tx.leaveAccepted(),
    transport_error: (tx, i) => tx.transportError(i.err),
  },
  completed: {
    request: (tx) => tx.resendFinal('request_retransmission'),
    ack: (tx) => tx.enterConfirmed(),
    timer_g: (tx) => tx.retransmitFinal(),
    timer_h: (tx) => tx.timeout(),
    transport_error: (tx, i) => tx.transportError(i.err),
  },
  confirmed: {
    // RFC 3261 §17.2.1: ACK retransmissions are absorbed until Timer I.
    timer_i: (tx) => tx.terminate('normal'),
  },
  terminated: {},
};

export class ServerInviteTransaction
  extends TransactionBase<ServerTransactionEvents, ServerInviteState, Input>
  implements ServerTransaction
{
  readonly side = 'server';
  readonly kind = 'invite';
  readonly flow: Flow;
  /** See `ServerMatch` (matching.ts). */
  readonly key: string;
  readonly rfc2543ToTag: string | undefined;
  /** Set by the layer while ACKs for our 2xx are routed here. */
  ackKey: string | undefined;
  protected readonly table = TABLE;
  declare protected readonly ctx: ServerInviteContext;
  #request: SipRequest | undefined;
  #target: Target | undefined;
  /** Proceeding: the latest provisional (RFC 3261 §17.2.1: resent on a retransmitted INVITE). */
  #provisional: Outgoing<SipResponse> | undefined;
  /** Completed on an unreliable transport: the final's bytes for Timer G and retransmitted INVITEs. */
  #final: Buffer | undefined;
  #finalToTag: string | undefined;
  #provisionalToTag: string | undefined;
  /** Accepted: the 2xx retransmitted until its ACK (RFC 3261 §13.3.1.4), only while that may happen. */
  #ok: Outgoing<SipResponse> | undefined;
  #reliable2xx = false;
  #acked = false;
  #intervalG: number;
  #interval2xx: number;

  constructor(ctx: ServerInviteContext, id: string, match: ServerMatch, request: SipRequest, flow: Flow) {
    super(ctx, id, 'INVITE', flow.protocol, 'proceeding');
    this.#request = request;
    this.flow = flow;
    this.key = match.key;
    this.rfc2543ToTag = match.rfc2543ToTag;
    this.#intervalG = ctx.timers.g;
    this.#interval2xx = ctx.timers.t1;
  }

  /** RFC 3261 §17.2.1: 100 Trying unless the TU answers within 200 ms (when enabled). */
  start(): void {
    if (this.ctx.autoTrying) this.arm('trying', this.ctx.timers.trying, TIMER_TRYING);
  }

  /** The INVITE, until the final response: the later states do not need it (see `request` in types.ts). */
  get request(): SipRequest {
    if (this.#request === undefined) throw requestReleased(this);
    return this.#request;
  }

  /** To tag of the final response we sent (RFC 2543 ACK matching, RFC 3261 §17.2.3). */
  get finalToTag(): string | undefined {
    return this.#finalToTag;
  }

  /** The To tag we answer with so far (RFC 3261 §9.2: the CANCEL's 200 should carry the same tag). */
  get toTag(): string | undefined {
    return this.#finalToTag ?? this.#provisionalToTag;
  }

  respond(res: SipResponse): boolean {
    const s = checkStatus(res);
    if (s < 200) return this.dispatch({ kind: 'tu_provisional', res });
    if (s < 300) return this.dispatch({ kind: 'tu_success', res, reliable: false });
    return this.dispatch({ kind: 'tu_failure', res });
  }

  respondReliably2xx(res: SipResponse): boolean {
    const s = checkStatus(res);
    if (s < 200 || s >= 300) {
      throw new TransactionError('invalid_response', `respondReliably2xx needs a 2xx, got ${s}`);
    }
    return this.dispatch({ kind: 'tu_success', res, reliable: true });
  }

  /** A retransmission of the INVITE (RFC 3261 §17.2.3 match). */
  receiveRequest(): void {
    if (!this.dispatch(REQUEST)) this.noteAbsorbed('request');
  }

  /** An ACK for our non-2xx final (matched to this transaction). */
  receiveAck(ack: SipRequest): void {
    if (!this.dispatch({ kind: 'ack', ack })) this.noteAbsorbed('ack');
  }

  /** An ACK for our 2xx (RFC 6026 §7.1). Returns whether this transaction was waiting for it. */
  receiveAck2xx(ack: SipRequest): boolean {
    return this.dispatch({ kind: 'ack_2xx', ack });
  }

  /** A CANCEL matched this transaction (RFC 3261 §9.2). */
  receiveCancel(cancel: SipRequest): void {
    this.dispatch({ kind: 'cancel', cancel });
  }

  protected transportFailed(err: TransportError): void {
    this.dispatch({ kind: 'transport_error', err });
  }

  // --- actions named in the table -------------------------------------------------------------

  sendTrying(): void {
    if (this.#provisional !== undefined || this.#request === undefined) return;
    this.sendProvisional(this.ctx.createResponse(this.#request, 100));
  }

  sendProvisional(res: SipResponse): void {
    this.disarm('trying');
    this.#provisionalToTag = toTagOf(res) ?? this.#provisionalToTag;
    this.#provisional = new Outgoing(res);
    this.#send(res);
  }

  resendProvisional(): void {
    this.noteAbsorbed('request');
    if (this.#provisional === undefined) {
      // Nothing sent yet: answer the retransmission with 100 now rather than stay silent.
      if (this.ctx.autoTrying) this.sendTrying();
      return;
    }
    this.#resend(this.#provisional.wire(this.ctx));
    this.noteRetransmit('request_retransmission');
  }

  passCancel(cancel: SipRequest): void {
    this.emit('cancel', cancel);
  }

  /** RFC 6026 §7.1: 2xx -> Accepted, Timer L. With `reliable`, RFC 3261 §13.3.1.4 retransmission starts. */
  enterAccepted(res: SipResponse, reliable: boolean): void {
    this.disarm('trying');
    this.setState('accepted');
    this.#finalToTag = toTagOf(res);
    this.#send(res);
    if (this.terminated) return;
    if (this.#request !== undefined) this.ctx.expectAck(this, this.#request, res);
    // RFC 6026 §7.1: in Accepted retransmitted INVITEs are absorbed by matching alone; the request and
    // the provisional are not needed any more.
    this.#shedProceeding();
    // No CANCEL or Timer H after a 2xx: the TU hears only of the ACK (or its absence) from here on.
    this.keepListenersOf('ack', 'ackTimeout', 'transportError', 'terminated');
    if (reliable) this.#startReliable2xx(res);
    this.arm('L', this.ctx.timers.l, TIMER_L);
  }

  resend2xx(res: SipResponse, reliable: boolean): void {
    this.#send(res);
    if (!reliable || this.#acked) return;
    // RFC 3261 §13.3.1.4: the latest 2xx the TU asked us to retransmit is the one retransmitted.
    if (this.#reliable2xx) this.#ok = new Outgoing(res);
    else this.#startReliable2xx(res);
  }

  retransmit2xx(): void {
    if (this.#ok === undefined || this.#acked) return;
    this.#resend(this.#ok.wire(this.ctx));
    this.noteRetransmit('2xx');
    this.#interval2xx = nextCapped(this.#interval2xx, this.ctx.timers);
    this.arm('2xx', this.#interval2xx, TIMER_2XX);
  }

  acknowledged(ack: SipRequest): void {
    if (this.#acked) {
      this.noteAbsorbed('ack');
      return;
    }
    this.#acked = true;
    this.disarm('2xx');
    // RFC 3261 §13.3.1.4: the ACK ends the 2xx retransmissions; until Timer L only the keys are needed.
    this.#ok = undefined;
    this.emit('ack', ack);
    // Until Timer L only a 2xx the TU re-sends can still fail.
    this.keepListenersOf('transportError', 'terminated');
  }

  /** Timer L: RFC 6026 §7.1 -> Terminated; without an ACK for a reliable 2xx, RFC 3261 §13.3.1.4 says end the session. */
  leaveAccepted(): void {
    if (this.#reliable2xx && !this.#acked) {
      this.timeOut('ack', () => this.emit('ackTimeout'));
      return;
    }
    this.terminate('normal');
  }

  /** RFC 3261 §17.2.1: 300-699 -> Completed; Timer G (unreliable only) and Timer H. */
  enterCompleted(res: SipResponse): void {
    this.disarm('trying');
    this.setState('completed');
    this.#finalToTag = toTagOf(res);
    this.#send(res);
    if (this.terminated) return;
    this.#shedProceeding();
    // No CANCEL or 2xx ACK after a non-2xx final: the TU hears only of Timer H or a failed re-send.
    this.keepListenersOf('timeout', 'transportError', 'terminated');
    // RFC 3261 §17.2.1: Completed retransmits the final (Timer G, retransmitted INVITEs), so keep its bytes
    // — on unreliable transports only: there is no Timer G on reliable ones, and RFC 3261 clients
    // retransmit the INVITE over unreliable transports only (§17.1.1.2, Timer A).
    if (!this.reliable) {
      this.#final = this.ctx.serialize(res);
      this.arm('G', this.#intervalG, TIMER_G);
    }
    this.arm('H', this.ctx.timers.h, TIMER_H);
  }

  resendFinal(reason: 'request_retransmission' | 'G'): void {
    if (reason === 'request_retransmission') this.noteAbsorbed('request');
    // GAP(RFC 3261 §17.2.1): over a reliable transport the final is not kept, so an INVITE retransmitted
    // anyway (e.g. by a stateless proxy relaying UDP retransmissions onto TCP) gets no answer in Completed.
    if (this.#final === undefined) return;
    this.#resend(this.#final);
    this.noteRetransmit(reason);
  }

  retransmitFinal(): void {
    this.resendFinal('G');
    this.#intervalG = nextCapped(this.#intervalG, this.ctx.timers);
    this.arm('G', this.#intervalG, TIMER_G);
  }

  /** RFC 3261 §17.2.1: ACK -> Confirmed; Timer I (T4, 0 on reliable transports) absorbs ACK retransmissions. */
  enterConfirmed(): void {
    this.disarm('G');
    this.disarm('H');
    this.setState('confirmed');
    // RFC 3261 §17.2.1: Confirmed only absorbs ACKs; nothing is sent any more.
    this.#final = undefined;
    // Nothing is sent or passed up in Confirmed.
    this.keepListenersOf('terminated');
    this.arm('I', waitTimer(this.ctx.timers, 'i', this.reliable), TIMER_I);
  }

  timeout(): void {
    this.timeOut('H', () => this.emit('timeout'));
  }

  transportError(err: TransportError): void {
    this.failTransport(err);
  }

  protected override onTerminate(): void {
    this.#shedProceeding();
    this.#ok = undefined;
    this.#final = undefined;
  }

  // --- helpers ------------------------------------------------------------------------------

  /** A final response is out: what only Proceeding needed goes (see the table's comment). */
  #shedProceeding(): void {
    this.#request = undefined;
    this.#provisional = undefined;
  }

  #startReliable2xx(res: SipResponse): void {
    this.#reliable2xx = true;
    this.#ok = new Outgoing(res);
    this.#interval2xx = this.ctx.timers.t1;
    // RFC 3261 §13.3.1.4: retransmitted whatever the transport (hop-by-hop reliability is not end-to-end).
    this.arm('2xx', this.#interval2xx, TIMER_2XX);
  }

  /**
   * Pass a response object to the transport (which serializes it and labels it); the target comes from
   * the first response (RFC 3261 §18.2.2).
   */
  #send(res: SipResponse): void {
    this.#target ??= responseTargetOf(this.ctx, res, this.flow, (err) => this.transportFailed(err));
    if (this.#target !== undefined) this.transmit(this.#target, res);
  }

  /** Retransmit bytes to the target of the first response. */
  #resend(bytes: Buffer): void {
    if (this.#target !== undefined) this.transmit(this.#target, bytes);
  }
}

function checkStatus(res: SipResponse): number {
  const s = res.status;
  if (!Number.isInteger(s) || s < 100 || s > 699) {
    throw new TransactionError('invalid_response', `response status ${s} is outside 100-699`);
  }
  return s;
}
