import type { SipRequest, SipResponse } from '../sip/message/message.js';
import type { ServerTransaction } from '../sip/transaction/index.js';
import type { Call, Side } from './call.js';

export interface CallLeg {
  readonly call: Call;
  readonly side: Side;
}

/**
 * The B2BUA's tables: live calls, each leg's dialog (RFC 3261 §12: Call-ID + our tag on that leg identify
 * it), and the A-leg INVITE transaction of calls still being set up (for CANCEL, RFC 3261 §9.2).
 */
export class CallRegistry {
  readonly #calls = new Map<number, Call>();
  readonly #dialogs = new Map<string, CallLeg>();
  readonly #byInviteTx = new Map<ServerTransaction, Call>();
  /** TCP connection id -> the calls with a leg on it (src/b2bua/call-reaper.ts); UDP calls are not here. */
  readonly #byConnection = new Map<number, Set<Call>>();

  get calls(): number {
    return this.#calls.size;
  }

  get dialogs(): number {
    return this.#dialogs.size;
  }

  /** A new call with its A-leg dialog and INVITE transaction. */
  add(call: Call, inviteTx: ServerTransaction): void {
    this.#calls.set(call.id, call);
    this.#dialogs.set(dialogKey(call.a.callId, call.a.localTag), { call, side: 'a' });
    this.#byInviteTx.set(inviteTx, call);
    const conn = call.aFlow.connectionId;
    if (conn !== undefined) this.bindConnection(call, conn);
  }

  /** The call has a leg on TCP connection `id`: it ends when that connection closes. */
  bindConnection(call: Call, id: number): void {
    let calls = this.#byConnection.get(id);
    if (calls === undefined) {
      calls = new Set();
      this.#byConnection.set(id, calls);
    }
    calls.add(call);
  }

  /** The calls with a leg on connection `id`, which has closed: forgotten here, to be ended by the caller. */
  takeConnection(id: number): Call[] {
    const calls = this.#byConnection.get(id);
    if (calls === undefined) return [];
    this.#byConnection.delete(id);
    return [...calls];
  }

  /** The call's current B-leg dialog (one per hop tried). */
  addBLeg(call: Call): void {
    const b = call.b!;
    this.#dialogs.set(dialogKey(b.callId, b.localTag), { call, side: 'b' });
  }

  /** Forget the B-leg dialog of an abandoned hop (failover), and the connection it came on. */
  removeBLeg(call: Call): void {
    const b = call.b;
    if (b !== undefined) this.#dialogs.delete(dialogKey(b.callId, b.localTag));
    this.#unbind(call, call.bConnectionId);
  }

  /** The call is set up (or gone): a CANCEL can no longer reach it. */
  forgetInviteTx(tx: ServerTransaction): void {
    this.#byInviteTx.delete(tx);
  }

  remove(call: Call): void {
    this.#calls.delete(call.id);
    this.#dialogs.delete(dialogKey(call.a.callId, call.a.localTag));
    this.removeBLeg(call);
    if (call.aTx !== undefined) this.#byInviteTx.delete(call.aTx);
    this.#unbind(call, call.aFlow.connectionId);
  }

  #unbind(call: Call, id: number | undefined): void {
    if (id === undefined) return;
    const calls = this.#byConnection.get(id);
    if (calls?.delete(call) === true && calls.size === 0) this.#byConnection.delete(id);
  }

  byInviteTx(tx: ServerTransaction): Call | undefined {
    return this.#byInviteTx.get(tx);
  }

  /** The leg an in-dialog request (or ACK) names: our tag is its To tag. */
  byRequest(req: SipRequest): CallLeg | undefined {
    const tag = req.to.tag;
    return tag === undefined ? undefined : this.#dialogs.get(dialogKey(req.callId, tag));
  }

  /** The leg a response to our own request names: our tag is its From tag. */
  byResponse(res: SipResponse): CallLeg | undefined {
    const tag = res.from.tag;
    return tag === undefined ? undefined : this.#dialogs.get(dialogKey(res.callId, tag));
  }

  all(): Call[] {
    return [...this.#calls.values()];
  }
}

function dialogKey(callId: string, localTag: string): string {
  return `${callId}\u0000${localTag}`;
}
