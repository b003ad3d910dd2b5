import type { SipRequest, SipResponse } from '../message/message.js';
import type { Flow, Target, TransportError } from '../transport/types.js';
import { waitTimer } from './timers.js';
import {
  Outgoing,
  responseTargetOf,
  TransactionBase,
  type TransactionContext,
  type TransitionTable,
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

/** Non-INVITE server transaction: RFC 3261 §17.2.2 (Figure 8). Inputs with no entry are absorbed. */
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
  readonly request: SipRequest;
  readonly flow: Flow;
  /** The layer's map key, kept so release() can delete exactly this entry. */
  readonly key: string;
  protected readonly table = TABLE;
  #target: Target | undefined;
  #last: Outgoing<SipResponse> | undefined;
  #finalToTag: string | undefined;

  constructor(ctx: TransactionContext, id: string, key: string, request: SipRequest, flow: Flow) {
    super(ctx, id, request.method, flow.protocol, 'trying');
    this.request = request;
    this.flow = flow;
    this.key = key;
  }

  /** Bound the wait on the TU: past 64*T1 the client has given up (Timer F), so no answer is useful. */
  start(): void {
    if (this.ctx.timers.serverNonInviteGuard > 0) {
      this.arm('guard', this.ctx.timers.serverNonInviteGuard, TIMER_GUARD);
    }
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
    this.#last = new Outgoing(res);
    this.#send(this.#last, false);
  }

  /** RFC 3261 §17.2.2: final -> Completed; Timer J (64*T1, 0 on reliable transports). */
  enterCompleted(res: SipResponse): void {
    this.disarm('guard');
    this.setState('completed');
    try {
      this.#finalToTag = res.to.tag;
    } catch {
      this.#finalToTag = undefined;
    }
    this.#last = new Outgoing(res);
    this.#send(this.#last, false);
    if (this.terminated) return;
    this.arm('J', waitTimer(this.ctx.timers, 'j', this.reliable), TIMER_J);
  }

  resendLast(): void {
    this.noteAbsorbed('request');
    if (this.#last === undefined) return;
    this.#send(this.#last, true);
    this.noteRetransmit('request_retransmission');
  }

  timeout(): void {
    this.timeOut('guard', () => this.emit('timeout'));
  }

  transportError(err: TransportError): void {
    this.failTransport(err);
  }

  #send(out: Outgoing<SipResponse>, retransmission: boolean): void {
    this.#target ??= responseTargetOf(this.ctx, out.message, this.flow, (err) => this.transportFailed(err));
    if (this.#target !== undefined) {
      this.transmit(this.#target, retransmission ? out.wire(this.ctx) : out.message);
    }
  }
}
