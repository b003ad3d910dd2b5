import { detach } from '../message/detach.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import type { Flow, Target, TransportError } from '../transport/types.js';
import type { ServerMatch } from './matching.js';
import { waitTimer } from './timers.js';
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
import type { ServerNonInviteState, ServerTransaction, ServerTransactionEvents } from './types.js';

type Input =
  | { readonly kind: 'request' }
  | { readonly kind: 'tu_provisional'; readonly res: SipResponse }
  | { readonly kind: 'tu_final'; readonly res: SipResponse }
  | { readonly kind: 'timer_j' }
  | { readonly kind: 'timer_guard' }
  | { readonly kind: 'transport_error'; readonly err: TransportError };

const REQUEST = { kind: 'request' } as const;
const TIMER_J = { kind: 'timer_j' } as const;
const TIMER_GUARD = { kind: 'timer_guard' } as const;

/**
 * Non-INVITE server transaction: RFC 3261 §17.2.2 (Figure 8). Inputs with no entry are absorbed.
 *
 * What each state holds: trying and proceeding the request and the latest provisional (an object until a
 * retransmission makes us serialize it, then its bytes); completed (Timer J) only the final's bytes, on
 * unreliable transports (Timer J is 0 on reliable ones).
 */
const TABLE: TransitionTable<ServerNonInviteState, Input, ServerNonInviteTransaction> = {
  trying: {
    // RFC 3261 §17.2.2: retransmissions in Trying are discarded (nothing to resend yet).
    tu_provisional: (tx, i) => tx.enterProceeding(i.res),
    tu_final: (tx, i) => tx.enterCompleted(i.res),
    timer_guard: (tx) => tx.timeout(),
    transport_error: (tx, i) => tx.transportError(i.err),
  },
  proceeding: {
    request: (tx) => tx.resendLast(),
    tu_provisional: (tx, i) => tx.sendProvisional(i.res),
    tu_final: (tx, i) => tx.enterCompleted(i.res),
    timer_guard: (tx) => tx.timeout(),
    transport_error: (tx, i) => tx.transportError(i.err),
  },
  completed: {
    // RFC 3261 §17.2.2: the final is resent for each retransmission until Timer J; TU responses are discarded.
    request: (tx) => tx.resendLast(),
    timer_j: (tx) => tx.terminate('normal'),
    transport_error: (tx, i) => tx.transportError(i.err),
  },
  terminated: {},
};

export class ServerNonInviteTransaction
  extends TransactionBase<ServerTransactionEvents, ServerNonInviteState, Input>
  implements ServerTransaction
{
  readonly side = 'server';
  readonly kind = 'non-invite';
  readonly flow: Flow;
  /** See `ServerMatch` (matching.ts). */
  readonly key: string;
  readonly rfc2543ToTag: string | undefined;
  protected readonly table = TABLE;
  #request: SipRequest | undefined;
  #target: Target | undefined;
  /** Proceeding: the latest provisional (RFC 3261 §17.2.2: resent on a retransmitted request). */
  #provisional: Outgoing<SipResponse> | undefined;
  /** Completed on an unreliable transport: the final's bytes, resent on a retransmitted request. */
  #final: Buffer | undefined;
  #finalToTag: string | undefined;

  constructor(ctx: TransactionContext, id: string, match: ServerMatch, request: SipRequest, flow: Flow) {
    super(ctx, id, detach(request.method), flow.protocol, 'trying');
    this.#request = request;
    this.flow = flow;
    this.key = match.key;
    this.rfc2543ToTag = match.rfc2543ToTag;
  }

  /** Bound the wait on the TU: past 64*T1 the client has given up (Timer F), so no answer is useful. */
  start(): void {
    if (this.ctx.timers.serverNonInviteGuard > 0) {
      this.arm('guard', this.ctx.timers.serverNonInviteGuard, TIMER_GUARD);
    }
  }

  /** The request, until the final response: Completed does not need it (see `request` in types.ts). */
  get request(): SipRequest {
    if (this.#request === undefined) throw requestReleased(this);
    return this.#request;
  }

  get finalToTag(): string | undefined {
    return this.#finalToTag;
  }

  respond(res: SipResponse): boolean {
    const s = res.status;
    if (!Number.isInteger(s) || s < 100 || s > 699) {
      throw new TransactionError('invalid_response', `response status ${s} is outside 100-699`);
    }
    return this.dispatch(s < 200 ? { kind: 'tu_provisional', res } : { kind: 'tu_final', res });
  }

  respondReliably2xx(): boolean {
    throw new TransactionError('invalid_request', 'respondReliably2xx applies to INVITE server transactions');
  }

  /** A retransmission of the request (RFC 3261 §17.2.3 match). */
  receiveRequest(): void {
    if (!this.dispatch(REQUEST)) this.noteAbsorbed('request');
  }

  protected transportFailed(err: TransportError): void {
    this.dispatch({ kind: 'transport_error', err });
  }

  // --- actions named in the table -------------------------------------------------------------

  enterProceeding(res: SipResponse): void {
    this.setState('proceeding');
    this.sendProvisional(res);
  }

  sendProvisional(res: SipResponse): void {
    this.#provisional = new Outgoing(res);
    this.#send(res);
  }

  /** RFC 3261 §17.2.2: final -> Completed; Timer J (64*T1, 0 on reliable transports). */
  enterCompleted(res: SipResponse): void {
    this.disarm('guard');
    this.setState('completed');
    this.#finalToTag = toTagOf(res);
    this.#send(res);
    if (this.terminated) return;
    this.#request = undefined;
    this.#provisional = undefined;
    // RFC 3261 §17.2.2: until Timer J each retransmitted request gets the final again, so keep its bytes
    // (not the response object). On reliable transports Timer J is 0: nothing to keep, nothing serialized.
    // The transport serialized the response already, but does not hand its bytes back: serialize once.
    if (!this.reliable) this.#final = this.ctx.serialize(res);
    // Completed only re-sends the final: the guard timer is gone, a failed re-send is all that can follow.
    this.keepListenersOf('transportError', 'terminated');
    this.arm('J', waitTimer(this.ctx.timers, 'j', this.reliable), TIMER_J);
  }

  resendLast(): void {
    this.noteAbsorbed('request');
    const bytes = this.#final ?? this.#provisional?.wire(this.ctx);
    if (bytes === undefined) return;
    this.#resend(bytes);
    this.noteRetransmit('request_retransmission');
  }

  timeout(): void {
    this.timeOut('guard', () => this.emit('timeout'));
  }

  transportError(err: TransportError): void {
    this.failTransport(err);
  }

  protected override onTerminate(): void {
    this.#request = undefined;
    this.#provisional = undefined;
    this.#final = undefined;
  }

  /** Pass a response object to the transport; the target comes from the first response (RFC 3261 §18.2.2). */
  #send(res: SipResponse): void {
    this.#target ??= responseTargetOf(this.ctx, res, this.flow, (err) => this.transportFailed(err));
    if (this.#target !== undefined) this.transmit(this.#target, res);
  }

  /** Retransmit bytes to the target of the first response. */
  #resend(bytes: Buffer): void {
    if (this.#target !== undefined) this.transmit(this.#target, bytes);
  }
}
