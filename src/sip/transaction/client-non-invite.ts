import type { SipRequest, SipResponse } from '../message/message.js';
import type { Flow, Target, TransportError } from '../transport/types.js';
import { nextCapped, waitTimer } from './timers.js';
import {
  Outgoing,
  requestReleased,
  TransactionBase,
  type TransactionContext,
  type TransitionTable,
} from './transaction-base.js';
import type { ClientNonInviteState, ClientTransaction, ClientTransactionEvents } from './types.js';

type Input =
  | { readonly kind: 'provisional'; readonly res: SipResponse }
  | { readonly kind: 'final'; readonly res: SipResponse }
  | { readonly kind: 'timer_e' }
  | { readonly kind: 'timer_f' }
  | { readonly kind: 'timer_k' }
  | { readonly kind: 'transport_error'; readonly err: TransportError };

const TIMER_E = { kind: 'timer_e' } as const;
const TIMER_F = { kind: 'timer_f' } as const;
const TIMER_K = { kind: 'timer_k' } as const;

/**
 * Non-INVITE client transaction: RFC 3261 §17.1.2 (Figure 6). Inputs with no entry are absorbed.
 *
 * What each state holds: trying and proceeding the request (retransmitted by Timer E); completed (Timer K)
 * nothing — response retransmissions are absorbed by matching alone.
 */
const TABLE: TransitionTable<ClientNonInviteState, Input, ClientNonInviteTransaction> = {
  trying: {
    provisional: (tx, i) => tx.enterProceeding(i.res),
    final: (tx, i) => tx.enterCompleted(i.res),
    // RFC 3261 §17.1.2.2: Timer E doubles up to T2.
    timer_e: (tx) => tx.retransmit(false),
    timer_f: (tx) => tx.timeout(),
    transport_error: (tx, i) => tx.transportError(i.err),
  },
  proceeding: {
    provisional: (tx, i) => tx.passUp(i.res),
    final: (tx, i) => tx.enterCompleted(i.res),
    // RFC 3261 §17.1.2.2: in Proceeding, Timer E is reset to T2.
    timer_e: (tx) => tx.retransmit(true),
    timer_f: (tx) => tx.timeout(),
    transport_error: (tx, i) => tx.transportError(i.err),
  },
  completed: {
    // RFC 3261 §17.1.2.2: response retransmissions are absorbed until Timer K.
    timer_k: (tx) => tx.terminate('normal'),
  },
  terminated: {},
};

export class ClientNonInviteTransaction
  extends TransactionBase<ClientTransactionEvents, ClientNonInviteState, Input>
  implements ClientTransaction
{
  readonly side = 'client';
  readonly kind = 'non-invite';
  readonly target: Target;
  protected readonly table = TABLE;
  #flow: Flow | undefined;
  /** Trying and proceeding: the request (the TU's view) and its bytes once Timer E retransmitted it. */
  #request: SipRequest | undefined;
  #out: Outgoing<SipRequest> | undefined;
  #intervalE: number;

  constructor(ctx: TransactionContext, branch: string, request: SipRequest, target: Target) {
    super(ctx, branch, request.method, target.protocol, 'trying');
    this.#request = request;
    this.target = target;
    this.#out = new Outgoing(request);
    this.#intervalE = ctx.timers.e;
  }

  /** The request, until the final response: Completed does not need it (see `request` in types.ts). */
  get request(): SipRequest {
    if (this.#request === undefined) throw requestReleased(this);
    return this.#request;
  }

  get flow(): Flow | undefined {
    return this.#flow;
  }

  /** RFC 3261 §17.1.2.2: send, start Timer E (unreliable only) and Timer F. */
  start(): void {
    this.transmit(this.target, this.request, (flow) => {
      this.#flow ??= flow;
    });
    if (!this.reliable) this.arm('E', this.#intervalE, TIMER_E);
    this.arm('F', this.ctx.timers.f, TIMER_F);
  }

  /** A response whose branch and CSeq method match (RFC 3261 §17.1.3). */
  receiveResponse(res: SipResponse, flow: Flow): void {
    if (this.reliable) this.#flow ??= flow;
    const handled = this.dispatch(res.status < 200 ? { kind: 'provisional', res } : { kind: 'final', res });
    if (!handled) this.noteAbsorbed('response');
  }

  /** RFC 3261 §9.1: CANCEL applies to INVITE only; for other methods it is a no-op. */
  cancel(): void {}

  protected transportFailed(err: TransportError): void {
    this.dispatch({ kind: 'transport_error', err });
  }

  // --- actions named in the table -------------------------------------------------------------

  enterProceeding(res: SipResponse): void {
    this.setState('proceeding');
    this.passUp(res);
  }

  /** RFC 3261 §17.1.2.2: a final stops E and F; Timer K (T4, 0 on reliable transports) absorbs retransmissions. */
  enterCompleted(res: SipResponse): void {
    this.disarm('E');
    this.disarm('F');
    this.setState('completed');
    // RFC 3261 §17.1.2.2: no more retransmissions; Completed only absorbs responses.
    this.#shedRequest();
    this.passUp(res);
    // Completed sends nothing and passes nothing up: the TU's closures need not live through Timer K.
    this.keepListenersOf('terminated');
    this.arm('K', waitTimer(this.ctx.timers, 'k', this.reliable), TIMER_K);
  }

  passUp(res: SipResponse): void {
    this.emit('response', res);
  }

  retransmit(proceeding: boolean): void {
    if (this.#out === undefined) return;
    this.transmit(this.target, this.#out.wire(this.ctx));
    this.noteRetransmit('E');
    this.#intervalE = proceeding ? this.ctx.timers.t2 : nextCapped(this.#intervalE, this.ctx.timers);
    this.arm('E', this.#intervalE, TIMER_E);
  }

  timeout(): void {
    this.timeOut('F', () => this.emit('timeout'));
  }

  transportError(err: TransportError): void {
    this.failTransport(err);
  }

  protected override onTerminate(): void {
    this.#shedRequest();
  }

  #shedRequest(): void {
    this.#request = undefined;
    this.#out = undefined;
  }
}
