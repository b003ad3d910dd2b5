import { SipRequest, type SipResponse } from '../message/message.js';
import type { Flow, Target, TransportError } from '../transport/types.js';
import { nextTimerA, waitTimer } from './timers.js';
import {
  followUpTarget,
  Outgoing,
  requestReleased,
  TransactionBase,
  type TransactionContext,
  type TransitionTable,
} from './transaction-base.js';
import type {
  CancelOptions,
  ClientInviteState,
  ClientTransaction,
  ClientTransactionEvents,
} from './types.js';

export interface ClientInviteContext extends TransactionContext {
  /** RFC 3261 §9.1: run a CANCEL as its own non-INVITE client transaction (same branch as the INVITE). */
  sendCancel(cancel: SipRequest, target: Target): void;
}

type Input =
  | { readonly kind: 'provisional'; readonly res: SipResponse }
  | { readonly kind: 'success'; readonly res: SipResponse }
  | { readonly kind: 'failure'; readonly res: SipResponse }
  | { readonly kind: 'cancel'; readonly options: CancelOptions }
  | { readonly kind: 'timer_a' }
  | { readonly kind: 'timer_b' }
  | { readonly kind: 'timer_c' }
  | { readonly kind: 'timer_d' }
  | { readonly kind: 'timer_m' }
  | { readonly kind: 'cancel_timeout' }
  | { readonly kind: 'transport_error'; readonly err: TransportError };

const TIMER_A = { kind: 'timer_a' } as const;
const TIMER_B = { kind: 'timer_b' } as const;
const TIMER_C = { kind: 'timer_c' } as const;
const TIMER_D = { kind: 'timer_d' } as const;
const TIMER_M = { kind: 'timer_m' } as const;
const CANCEL_TIMEOUT = { kind: 'cancel_timeout' } as const;

/**
 * INVITE client transaction: RFC 3261 §17.1.1 (Figure 5) as updated by RFC 6026 §7.2 (Accepted state,
 * Timer M). Inputs with no entry in a state are absorbed.
 *
 * What each state holds: calling and proceeding the INVITE (retransmitted by Timer A; the source of ACK
 * and CANCEL); accepted (Timer M) nothing but its keys — 2xx retransmissions go to the TU as they come;
 * completed (Timer D) the ACK's bytes, on unreliable transports (Timer D is 0 on reliable ones).
 */
const TABLE: TransitionTable<ClientInviteState, Input, ClientInviteTransaction> = {
  calling: {
    // RFC 3261 §17.1.1.2: a provisional stops retransmissions; a deferred CANCEL goes now (§9.1).
    provisional: (tx, i) => tx.enterProceeding(i.res),
    success: (tx, i) => tx.enterAccepted(i.res),
    failure: (tx, i) => tx.enterCompleted(i.res),
    // RFC 3261 §9.1: no provisional yet, so the CANCEL waits for one.
    cancel: (tx, i) => tx.deferCancel(i.options),
    timer_a: (tx) => tx.retransmit(),
    timer_b: (tx) => tx.timeout('B'),
    transport_error: (tx, i) => tx.transportError(i.err),
  },
  // GAP(RFC 3261 §17.1.4): past Calling the INVITE has reached the peer; a late transport failure (a lost
  // TCP connection) is not reported — Timer C / the TU's CANCEL bound the wait instead.
  proceeding: {
    provisional: (tx, i) => tx.passProvisional(i.res),
    success: (tx, i) => tx.enterAccepted(i.res),
    failure: (tx, i) => tx.enterCompleted(i.res),
    cancel: (tx, i) => tx.sendCancel(i.options),
    // RFC 3261 §16.8: Timer C in Proceeding -> CANCEL the branch.
    timer_c: (tx) => tx.sendCancel({}),
    // RFC 3261 §9.1: no final 64*T1 after the CANCEL -> consider the transaction cancelled.
    cancel_timeout: (tx) => tx.timeout('cancel'),
  },
  accepted: {
    // RFC 6026 §7.2: every 2xx (retransmissions, other forks) goes to the TU; the TU ACKs them.
    success: (tx, i) => tx.passUp(i.res),
    timer_m: (tx) => tx.terminate('normal'),
  },
  completed: {
    // RFC 3261 §17.1.1.2: a retransmitted final is absorbed and answered with the same ACK.
    failure: (tx) => tx.resendAck(),
    timer_d: (tx) => tx.terminate('normal'),
    transport_error: (tx, i) => tx.transportError(i.err),
  },
  terminated: {},
};

/** Fields copied from the request at start, so later edits of the request object cannot change ACK/CANCEL. */
interface RequestSnapshot {
  readonly uri: string;
  readonly via: string;
  readonly from: string;
  readonly to: string;
  readonly callId: string;
  readonly seq: number;
  readonly routes: readonly string[];
}

export class ClientInviteTransaction
  extends TransactionBase<ClientTransactionEvents, ClientInviteState, Input>
  implements ClientTransaction
{
  readonly side = 'client';
  readonly kind = 'invite';
  readonly target: Target;
  protected readonly table = TABLE;
  declare protected readonly ctx: ClientInviteContext;
  #flow: Flow | undefined;
  /** Calling and proceeding: the INVITE (the TU's view) and what the transaction sends from it. */
  #request: SipRequest | undefined;
  #out: Outgoing<SipRequest> | undefined;
  #snap: RequestSnapshot | undefined;
  #intervalA: number;
  #pendingCancel: CancelOptions | undefined;
  #cancelSent = false;
  /** Completed on an unreliable transport: the ACK's bytes, resent for each retransmitted final. */
  #ack: Buffer | undefined;

  constructor(ctx: ClientInviteContext, branch: string, request: SipRequest, target: Target) {
    super(ctx, branch, 'INVITE', target.protocol, 'calling');
    this.#request = request;
    this.target = target;
    this.#out = new Outgoing(request);
    this.#snap = snapshot(request);
    this.#intervalA = ctx.timers.a;
  }

  /** The INVITE, until a final response: ACK and CANCEL no longer need it (see `request` in types.ts). */
  get request(): SipRequest {
    if (this.#request === undefined) throw requestReleased(this);
    return this.#request;
  }

  get flow(): Flow | undefined {
    return this.#flow;
  }

  /** RFC 3261 §17.1.1.2: send, start Timer A (unreliable only) and Timer B. */
  start(): void {
    this.transmit(this.target, this.request, (flow) => {
      this.#flow ??= flow;
    });
    if (!this.reliable) this.arm('A', this.#intervalA, TIMER_A);
    this.arm('B', this.ctx.timers.b, TIMER_B);
  }

  /** A response whose branch and CSeq method match (RFC 3261 §17.1.3). */
  receiveResponse(res: SipResponse, flow: Flow): void {
    if (this.reliable) this.#flow ??= flow;
    const s = res.status;
    const handled =
      s < 200
        ? this.dispatch({ kind: 'provisional', res })
        : s < 300
          ? this.dispatch({ kind: 'success', res })
          : this.dispatch({ kind: 'failure', res });
    if (!handled) this.noteAbsorbed('response');
  }

  cancel(options: CancelOptions = {}): void {
    this.dispatch({ kind: 'cancel', options });
  }

  protected transportFailed(err: TransportError): void {
    this.dispatch({ kind: 'transport_error', err });
  }

  // --- actions named in the table -------------------------------------------------------------

  enterProceeding(res: SipResponse): void {
    this.disarm('A');
    this.disarm('B');
    this.setState('proceeding');
    this.#armTimerC();
    if (this.#pendingCancel !== undefined) {
      const options = this.#pendingCancel;
      this.#pendingCancel = undefined;
      this.sendCancel(options);
    }
    this.passUp(res);
  }

  passProvisional(res: SipResponse): void {
    // RFC 3261 §16.7 step 2: 101-199 restarts Timer C (not after our CANCEL is out).
    if (res.status > 100 && !this.#cancelSent) this.#armTimerC();
    this.passUp(res);
  }

  /** RFC 6026 §7.2: a 2xx moves to Accepted; Timer M keeps the transaction to catch 2xx retransmissions. */
  enterAccepted(res: SipResponse): void {
    this.#stopCallingTimers();
    this.setState('accepted');
    // RFC 6026 §7.2: the TU ACKs the 2xx (and its retransmissions) itself; no CANCEL after a final (§9.1).
    this.#shedRequest();
    this.passUp(res);
    // Accepted passes only 2xx responses up: no timeout or transport error can follow.
    this.keepListenersOf('response', 'terminated');
    this.arm('M', this.ctx.timers.m, TIMER_M);
  }

  /** RFC 3261 §17.1.1.2: a 300-699 final -> ACK it, pass it up, Timer D. */
  enterCompleted(res: SipResponse): void {
    this.#stopCallingTimers();
    this.setState('completed');
    const snap = this.#snap;
    this.#shedRequest();
    if (snap !== undefined) {
      const ack = buildAck(snap, res);
      this.transmit(followUpTarget(this.target, this.#flow), ack);
      // RFC 3261 §17.1.1.2: until Timer D each retransmitted final gets the same ACK: keep its bytes.
      // Timer D is 0 on reliable transports: nothing to keep, nothing serialized.
      if (!this.reliable) this.#ack = this.ctx.serialize(ack);
    }
    this.passUp(res);
    // Completed only re-sends the ACK: nothing is passed up any more but a failed re-send.
    this.keepListenersOf('transportError', 'terminated');
    this.arm('D', waitTimer(this.ctx.timers, 'd', this.reliable), TIMER_D);
  }

  passUp(res: SipResponse): void {
    this.emit('response', res);
  }

  retransmit(): void {
    if (this.#out === undefined) return;
    this.transmit(this.target, this.#out.wire(this.ctx));
    this.noteRetransmit('A');
    this.#intervalA = nextTimerA(this.#intervalA);
    this.arm('A', this.#intervalA, TIMER_A);
  }

  resendAck(): void {
    this.noteAbsorbed('response');
    if (this.#ack === undefined) return;
    this.transmit(followUpTarget(this.target, this.#flow), this.#ack);
    this.noteRetransmit('ack');
  }

  deferCancel(options: CancelOptions): void {
    this.#pendingCancel ??= options;
  }

  /** RFC 3261 §9.1: build and send the CANCEL once; bound the wait for the final with 64*T1. */
  sendCancel(options: CancelOptions): void {
    if (this.#cancelSent || this.#snap === undefined) return;
    this.#cancelSent = true;
    this.disarm('C');
    this.ctx.sendCancel(buildCancel(this.#snap, options), followUpTarget(this.target, this.#flow));
    this.arm('cancel', this.ctx.timers.b, CANCEL_TIMEOUT);
  }

  timeout(timer: 'B' | 'cancel'): void {
    this.timeOut(timer, () => this.emit('timeout'));
  }

  transportError(err: TransportError): void {
    this.failTransport(err);
  }

  protected override onTerminate(): void {
    this.#pendingCancel = undefined;
    this.#shedRequest();
    this.#ack = undefined;
  }

  // --- helpers ------------------------------------------------------------------------------

  /** A final response arrived: Timer A, ACK and CANCEL construction are over (see the table's comment). */
  #shedRequest(): void {
    this.#request = undefined;
    this.#out = undefined;
    this.#snap = undefined;
  }

  #stopCallingTimers(): void {
    this.disarm('A');
    this.disarm('B');
    this.disarm('C');
    this.disarm('cancel');
    // RFC 3261 §9.1: a final arrived before any provisional -> the deferred CANCEL is not sent.
    this.#pendingCancel = undefined;
  }

  #armTimerC(): void {
    if (this.ctx.timers.c > 0) this.arm('C', this.ctx.timers.c, TIMER_C);
  }
}

function snapshot(req: SipRequest): RequestSnapshot {
  const routes: string[] = [];
  for (const h of req.headers) if (h.name === 'route') routes.push(h.value);
  return {
    uri: req.uri,
    via: req.get('via') ?? '',
    from: req.get('from') ?? '',
    to: req.get('to') ?? '',
    callId: req.callId,
    seq: req.cseq.seq,
    routes,
  };
}

/**
 * RFC 3261 §17.1.1.3 (ACK for a non-2xx final) and §9.1 (CANCEL): same Request-URI, Call-ID, From and CSeq
 * number as the INVITE, a single Via equal to its top Via (same branch), its Route set. The ACK's To is the
 * response's (with its tag), the CANCEL's the INVITE's; RFC 3326 Reason on a CANCEL says why we cancel.
 */
function buildAck(s: RequestSnapshot, res: SipResponse): SipRequest {
  return fromSnapshot(s, 'ACK', res.get('to') ?? s.to);
}

function buildCancel(s: RequestSnapshot, options: CancelOptions): SipRequest {
  return fromSnapshot(s, 'CANCEL', s.to, options.reason);
}

function fromSnapshot(s: RequestSnapshot, method: 'ACK' | 'CANCEL', to: string, reason?: string): SipRequest {
  const req = new SipRequest(method, s.uri);
  req.append('via', s.via);
  for (const r of s.routes) req.append('route', r);
  req.append('max-forwards', '70');
  req.append('from', s.from);
  req.append('to', to);
  req.append('call-id', s.callId);
  req.append('cseq', `${s.seq} ${method}`);
  if (reason !== undefined) req.append('reason', reason);
  req.append('content-length', '0');
  return req;
}
