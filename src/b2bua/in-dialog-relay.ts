import { createResponse } from '../sip/message/build.js';
import type { SipRequest, SipResponse } from '../sip/message/message.js';
import type { ServerTransaction, TransactionLayer } from '../sip/transaction/index.js';
import { type Call, other, type Side } from './call.js';
import { isSettingUp } from './call-lifecycle.js';
import type { CallReaper } from './call-reaper.js';
import type { CallRegistry } from './call-registry.js';
import { type CallTeardown, copyBody } from './call-teardown.js';
import { copyCrossingHeaders } from './header-rules.js';
import { validateRequest } from './request-validation.js';
import { respond } from './respond.js';

export interface InDialogRelayOptions {
  readonly registry: CallRegistry;
  readonly transactions: TransactionLayer;
  readonly teardown: CallTeardown;
  /** Session refreshes re-arm the call's RFC 4028 timer (src/b2bua/call-reaper.ts). */
  readonly reaper: CallReaper;
  /** The caller gave up on a call not yet answered: 487 to A, CANCEL to B (src/b2bua/call-setup.ts). */
  readonly abandon: (call: Call, reason?: string) => void;
  readonly maxForwards: number;
  /** How long a re-INVITE's 2xx waits for its ACK (64*T1). */
  readonly ackTimeoutMs: number;
}

/** Requests that refresh the remote target (RFC 3261 §12.2; RFC 3311 §5.1 for UPDATE). */
const TARGET_REFRESH: ReadonlySet<string> = new Set(['INVITE', 'UPDATE']);

/**
 * Requests inside a dialog (RFC 3261 §12.2) and the ACKs of the calls' INVITEs: each is answered on its own
 * leg and re-originated on the other with that leg's dialog identifiers; the answer comes back the same way.
 * BYE ends the call (RFC 3261 §15.1.2); PRACK's RAck is renumbered for the other leg (RFC 3262 §7.2).
 */
export class InDialogRelay {
  readonly #o: InDialogRelayOptions;

  constructor(opts: InDialogRelayOptions) {
    this.#o = opts;
  }

  request(req: SipRequest, tx: ServerTransaction): void {
    const found = this.#o.registry.byRequest(req);
    if (found === undefined) {
      // RFC 3261 §12.2.2: a request for an unknown dialog.
      respond(tx, req, 481);
      return;
    }
    const { call, side } = found;
    const src = call.leg(side)!;
    const dst = call.leg(other(side));
    // RFC 3261 §12.2.2: CSeq lower than the remote sequence is out of order -> 500.
    if (
      src.remoteSeq !== undefined &&
      req.cseq.seq < src.remoteSeq &&
      req.method !== 'ACK' &&
      req.method !== 'CANCEL'
    ) {
      respond(tx, req, 500, 'CSeq Out of Order');
      return;
    }
    src.remoteSeq = req.cseq.seq;
    const refusal = validateRequest(req, true);
    if (refusal !== undefined) {
      respond(tx, req, refusal.status, undefined, refusal.headers);
      return;
    }
    if (req.method === 'BYE') {
      this.#bye(call, side, req, tx);
      return;
    }
    if (dst === undefined || call.state === 'ending') {
      respond(tx, req, 481);
      return;
    }
    this.#relay(call, side, req, tx);
  }

  /**
   * An ACK inside a dialog: the caller's ACK of the relayed 2xx confirms the call (RFC 3261 §13.2.2.4), any
   * other is the ACK of a re-INVITE's 2xx, re-originated on the other leg with its CSeq.
   */
  ack(ack: SipRequest): void {
    const found = this.#o.registry.byRequest(ack);
    if (found === undefined) return; // stray ACK: nothing to do (RFC 3261 §17.2.3)
    const { call, side } = found;
    const seq = ack.cseq.seq;
    if (side === 'a' && call.aInviteSeq === seq && call.state === 'answered') {
      call.advance('ack');
      this.#o.teardown.sendBLegAck(call, ack);
      if (call.aTx !== undefined) this.#o.registry.forgetInviteTx(call.aTx);
      call.release(); // established: only the dialogs are needed from here on
      return;
    }
    const pending = call.pendingAcksIfAny?.get(`${side}:${seq}`);
    if (pending === undefined) return;
    const dst = call.leg(other(side));
    if (dst === undefined) return;
    const out = dst.createRequest('ACK', { cseq: pending.otherCseq, maxForwards: this.#o.maxForwards });
    copyBody(ack, out);
    pending.ack = out;
    this.#o.teardown.sendAck(out, dst.nextHop());
  }

  #bye(call: Call, side: Side, req: SipRequest, tx: ServerTransaction): void {
    respond(tx, req, 200);
    const teardown = this.#o.teardown;
    if (call.state === 'ending') return;
    if (side === 'a' && isSettingUp(call.state)) {
      // RFC 3261 §15.1.2: the caller's BYE on the early dialog ends it; the pending INVITE gets 487, and the
      // B-leg INVITE, still pending too, is CANCELled (§9.1) rather than BYE'd on its early dialog.
      this.#o.abandon(call, req.get('reason'));
      return;
    }
    const dst = call.leg(other(side));
    if (dst === undefined || dst.remoteTag === undefined || !call.advance('hangup')) {
      teardown.end(call, 'bye');
      return;
    }
    teardown.sendBye(call, other(side), () => teardown.end(call, 'bye'), req);
  }

  #relay(call: Call, side: Side, req: SipRequest, tx: ServerTransaction): void {
    const src = call.leg(side)!;
    const dst = call.leg(other(side))!;
    if (TARGET_REFRESH.has(req.method)) src.updateFromRequest(req);
    const out = dst.createRequest(req.method, { maxForwards: this.#o.maxForwards });
    copyCrossingHeaders(req, out, call.trunk.headerRules);
    if (req.method === 'PRACK') {
      // RFC 3262 §7.2: RAck names the B-leg INVITE; RSeq numbers pass through unchanged.
      const rack = (req.get('rack') ?? '').trim().split(/\s+/);
      const inviteSeq = side === 'a' ? call.bInviteSeq : call.aInviteSeq;
      if (rack[0] !== undefined && inviteSeq !== undefined)
        out.append('rack', `${rack[0]} ${inviteSeq} INVITE`);
    }
    out.body = req.body;
    const ctx = this.#o.transactions.sendRequest(out, dst.nextHop());
    ctx.on('response', (res: SipResponse) => {
      if (res.status === 100) return;
      const back = createResponse(req, res.status, res.reason);
      copyCrossingHeaders(res, back, call.trunk.headerRules);
      if (TARGET_REFRESH.has(req.method) && res.status < 300) {
        dst.updateFromResponse(res);
        back.append('contact', src.localContact);
      }
      back.body = res.body;
      // RFC 4028 §10: a re-INVITE or UPDATE answered 2xx, either way, refreshes the session.
      if (TARGET_REFRESH.has(req.method) && res.status >= 200 && res.status < 300)
        this.#o.reaper.refreshed(call, res, side === 'a' ? back : undefined);
      if (req.method === 'INVITE' && res.status >= 200 && res.status < 300) {
        const key = `${side}:${req.cseq.seq}`;
        const pending = call.pendingAcks.get(key);
        if (pending?.ack !== undefined) {
          this.#o.teardown.sendAck(pending.ack, dst.nextHop());
          return;
        }
        call.pendingAcks.set(key, { from: side, otherCseq: out.cseq.seq });
        call.later(this.#o.ackTimeoutMs + 1000, () => call.pendingAcks.delete(key));
      }
      tx.respond(back);
    });
    ctx.on('timeout', () => respond(tx, req, 408));
    ctx.on('transportError', () => respond(tx, req, 503));
  }
}
