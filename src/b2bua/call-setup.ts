import { callChannels } from '../events.js';
import { bindBLeg } from '../log/call-logger.js';
import type { Logger } from '../log/logger.js';
import { Dialog, uriOnly } from '../sip/dialog/dialog.js';
import { createResponse, generateTag } from '../sip/message/build.js';
import type { SipRequest, SipResponse } from '../sip/message/message.js';
import type { ServerTransaction, TransactionLayer } from '../sip/transaction/index.js';
import type { Clock } from '../sip/transaction/timers.js';
import type { Flow } from '../sip/transport/types.js';
import { type BLegInviteOptions, buildBLegInvite } from './b-leg-invite.js';
import { Call } from './call.js';
import { isSettingUp } from './call-lifecycle.js';
import { type CallReaper, REAP_REASON, type SetupActions } from './call-reaper.js';
import type { CallRegistry } from './call-registry.js';
import type { CallTeardown } from './call-teardown.js';
import { copyCrossingHeaders } from './header-rules.js';
import { type ChainResult, type HookChains, runHookChain } from './invite-hooks.js';
import type { LocalContact } from './local-contact.js';
import { respond } from './respond.js';
import type { Router, UnmatchedPolicy } from './router.js';
import { judgeOffer, offerOnBLeg, type SessionTimerConfig } from './session-timer.js';
import {
  publishCallRecord,
  publishRefusedInvite,
  type RecordKeys,
  tracebackObserved,
} from './traceback-events.js';

/**
 * What a configuration reload replaces (src/app/reload.ts), swapped as one object and read once per initial
 * INVITE: a call keeps the trunk (and so the route, for failover) it matched and the hook chain it ran.
 */
export interface CallRouting {
  readonly router: Router;
  readonly hooks: HookChains;
  readonly unmatched: UnmatchedPolicy;
  readonly maxCalls: number;
}

export interface CallSetupOptions {
  readonly router: Router;
  readonly transactions: TransactionLayer;
  readonly registry: CallRegistry;
  readonly teardown: CallTeardown;
  readonly contact: LocalContact;
  readonly bLeg: BLegInviteOptions;
  readonly logger: Logger;
  readonly hooks: HookChains;
  /** What to do with traffic from an address that matches no trunk. */
  readonly unmatched: UnmatchedPolicy;
  readonly maxCalls: number;
  readonly clock: Clock;
  readonly recordKeys: RecordKeys;
  readonly reaper: CallReaper;
  readonly sessionTimers: SessionTimerConfig;
}

/**
 * From a new INVITE to an answered (or failed) call: admission (trunk, call limit, loop), the A-leg dialog,
 * the trunk's hook chain, the B-leg INVITE to each next hop in turn (failover), and relaying the B-leg's
 * answers to the caller (RFC 3261 §13, §16.7 for the choice of the response to relay, §9 for CANCEL).
 */
export class CallSetup implements SetupActions {
  readonly #o: CallSetupOptions;
  #routing: CallRouting;
  #nextId = 1;

  constructor(opts: CallSetupOptions) {
    this.#o = opts;
    this.#routing = {
      router: opts.router,
      hooks: opts.hooks,
      unmatched: opts.unmatched,
      maxCalls: opts.maxCalls,
    };
  }

  /** From the next initial INVITE on; calls already set up or established keep what they started with. */
  reconfigure(routing: CallRouting): void {
    this.#routing = routing;
  }

  newCall(req: SipRequest, tx: ServerTransaction, flow: Flow): void {
    const receivedAt = process.hrtime.bigint();
    const o = this.#o;
    const r = this.#routing;
    let trunk = r.router.match(flow);
    if (trunk === undefined) {
      if (r.unmatched.action === 'reject' || r.unmatched.trunk === undefined) {
        o.logger.info(
          { src: flow.remote.address, event: 'unmatched_source' },
          'INVITE from unknown source refused',
        );
        respond(tx, req, r.unmatched.status);
        if (tracebackObserved())
          publishRefusedInvite(o.recordKeys, req, flow, undefined, r.unmatched.status, 'unknown_source');
        return;
      }
      trunk = r.unmatched.trunk;
    }
    if (o.registry.calls >= r.maxCalls) {
      respond(tx, req, 503, undefined, [['Retry-After', '5']]);
      if (tracebackObserved()) publishRefusedInvite(o.recordKeys, req, flow, trunk, 503, 'max_calls');
      return;
    }
    if (o.contact.isLoop(req)) {
      respond(tx, req, 482);
      if (tracebackObserved()) publishRefusedInvite(o.recordKeys, req, flow, trunk, 482, 'loop');
      return;
    }
    // RFC 4028 §8.1, §9: a Session-Expires below our Min-SE from a caller that supports timers. Not a
    // traceback refusal: the caller retries at once with our Min-SE, and that call is recorded.
    if (o.sessionTimers.enabled) {
      const offer = judgeOffer(req, o.sessionTimers);
      if (offer.action === 'refuse') {
        respond(tx, req, 422, 'Session Interval Too Small', [['Min-SE', String(offer.minSe)]]);
        return;
      }
    }
    // RFC 3261 §8.2.6.1: a UAS that will take time answers 100 at once (no To tag on 100).
    tx.respond(createResponse(req, 100, 'Trying'));

    const aTag = generateTag();
    const a = new Dialog({
      callId: req.callId,
      localTag: aTag,
      remoteTag: req.from.tag,
      localUri: uriOnly(req.get('to') ?? ''),
      remoteUri: uriOnly(req.get('from') ?? ''),
      localSeq: 1,
      remoteSeq: req.cseq.seq,
      remoteTarget: req.contact[0]?.uri.raw ?? `sip:${flow.remote.address}:${flow.remote.port}`,
      // RFC 3261 §12.1.1: the UAS route set is the Record-Route list in order.
      routeSet: req.getAll('record-route'),
      localContact: o.contact.contact(flow.protocol),
      fallback: {
        protocol: flow.protocol,
        remote: flow.remote,
        ...(flow.connectionId !== undefined ? { connectionId: flow.connectionId } : {}),
      },
    });
    const call = new Call({
      id: this.#nextId++,
      trunk,
      aInvite: req,
      aTx: tx,
      aFlow: flow,
      aTag,
      a,
      log: o.logger,
      clock: o.clock,
    });
    call.receivedAt = receivedAt;
    call.startedAtMs = Date.now();
    o.registry.add(call, tx);
    this.#forgetOnTermination(tx);
    const onAckTimeout = () => o.teardown.ackTimeout(call);
    tx.on('ackTimeout', onAckTimeout);
    call.onRelease(() => tx.off('ackTimeout', onAckTimeout));
    if (callChannels.started.hasSubscribers)
      callChannels.started.publish({ trunk: trunk.name, role: trunk.role });
    this.#runHooks(call, req, r.hooks);
  }

  /** RFC 3261 §9.2: the caller cancelled: 487 to the INVITE, and CANCEL the B-leg (§9.1) if it is out. */
  cancel(inviteTx: ServerTransaction): void {
    const call = this.#o.registry.byInviteTx(inviteTx);
    if (call !== undefined) this.abandon(call);
  }

  /**
   * The caller is gone (its CANCEL, or its connection: src/b2bua/call-reaper.ts): 487 to the INVITE (RFC 3261
   * §9.2; it also ends the A-leg server transaction) and CANCEL the B-leg (§9.1), with an RFC 3326 Reason.
   */
  abandon(call: Call, reason?: string): void {
    if (!call.advance('cancel')) return;
    this.#respondA(call, 487, undefined);
    if (call.bTx !== undefined) call.bTx.cancel(reason === undefined ? {} : { reason });
    else this.#o.teardown.end(call, 'cancelled');
  }

  /**
   * The current hop's TCP connection closed before its final answer: a failed hop (failover, else 503). Its
   * INVITE may have reached a phone that still rings: CANCEL it (RFC 3261 §9.1, over a new connection).
   */
  hopLost(call: Call): void {
    call.bTx?.cancel({ reason: REAP_REASON.connection_lost });
    this.#bFailed(call, call.hopIndex, 503);
  }

  // ---- the hook chain ---------------------------------------------------------------------------

  #runHooks(call: Call, aInvite: SipRequest, chains: HookChains): void {
    const hooks = chains[call.trunk.role];
    if (hooks === undefined || hooks.length === 0) {
      this.#forward(call);
      return;
    }
    const result = runHookChain(hooks, {
      trunk: call.trunk,
      aRequest: aInvite,
      flow: call.aFlow,
      receivedAt: call.receivedAt,
      // A getter: the call's child logger is made only if a hook logs.
      get log() {
        return call.log;
      },
      facts: call.facts,
      onCallEnd(fn) {
        call.onEnd(fn);
      },
    });
    if (result instanceof Promise) void result.then((r) => this.#afterHooks(call, r));
    else this.#afterHooks(call, result);
  }

  #afterHooks(call: Call, result: ChainResult): void {
    if (call.abandoned) return; // cancelled (or shut down) while a hook waited
    if (result.action === 'reject') {
      this.#respondA(call, result.status, result.reasonPhrase, result.headers);
      if (tracebackObserved())
        publishCallRecord(call, this.#o.recordKeys, {
          status: result.status,
          cause: result.cause,
          detail: result.detail ?? result.hook,
        });
      this.#o.teardown.end(call, 'rejected');
      return;
    }
    call.edits = result.edits;
    this.#forward(call);
  }

  // ---- B-leg INVITE, failover -------------------------------------------------------------------

  /** Send the B-leg INVITE to the call's current hop; with none left, 503 (RFC 3261 §21.5.4). */
  #forward(call: Call): void {
    const hop = call.trunk.route.hops[call.hopIndex];
    const aInvite = call.aInvite;
    if (aInvite === undefined) return;
    if (hop === undefined) {
      this.#respondA(call, 503, undefined, [['Retry-After', '5']]);
      this.#o.teardown.end(call, 'no_route');
      return;
    }
    const { req, dialog } = buildBLegInvite(call, aInvite, hop, this.#o.bLeg);
    if (this.#o.sessionTimers.enabled)
      offerOnBLeg(req, judgeOffer(aInvite, this.#o.sessionTimers), this.#o.sessionTimers);
    call.b = dialog;
    this.#o.registry.addBLeg(call);
    // The parent's level: asking the call's logger would make its pino child (and redaction) on every call.
    if (call.hopIndex === 0 && this.#o.logger.isLevelEnabled('debug')) bindBLeg(call.log, dialog.callId);
    call.bInvite = req;
    call.bInviteSeq = req.cseq.seq;
    call.advance('forward');
    const tx = this.#o.transactions.sendRequest(req, dialog.fallback);
    call.bTx = tx;
    if (call.hopIndex === 0 && tracebackObserved()) publishCallRecord(call, this.#o.recordKeys);
    if (callChannels.forwarded.hasSubscribers) {
      // INVITE processing time, A-leg received -> B-leg handed to the transaction layer (incl. sign/verify).
      const durationNs = Number(process.hrtime.bigint() - call.receivedAt);
      callChannels.forwarded.publish({
        trunk: call.trunk.name,
        role: call.trunk.role,
        durationNs,
        hop: call.hopIndex,
      });
    }
    // Events are tied to the hop they were sent to: after a failover, the old hop's are ignored.
    const hopIndex = call.hopIndex;
    // The route's ring limit; without one the transaction's Timer B (no answer at all) and Timer C (a
    // provisional, then silence: `sip.timers.timer_c_s`) bound the wait (RFC 3261 §17.1.1.2, §16.6 step 11).
    const timeout = call.trunk.route.inviteTimeoutMs;
    if (timeout !== undefined) {
      call.later(timeout, () => {
        if (call.bTx !== tx) return;
        // RFC 3261 §9.1: a CANCEL waits for a provisional, so a hop that sent none has failed now (it is
        // CANCELled if it answers later); one that rang is CANCELled, and its 487 answered as 408 below.
        tx.cancel();
        if (call.state === 'calling') this.#bFailed(call, hopIndex, 408);
      });
    }
    const onResponse = (res: SipResponse) => {
      const conn = tx.flow?.connectionId;
      if (conn !== undefined && call.hopIndex === hopIndex) this.#o.reaper.bLegConnection(call, conn);
      this.#onBResponse(call, hopIndex, res);
    };
    const onTimeout = () => this.#bFailed(call, hopIndex, 408);
    const onTransportError = () => this.#bFailed(call, hopIndex, 503);
    tx.on('response', onResponse);
    tx.on('timeout', onTimeout);
    tx.on('transportError', onTransportError);
    const reAck = this.#reAck;
    call.onRelease(() => {
      tx.off('response', onResponse);
      tx.off('timeout', onTimeout);
      tx.off('transportError', onTransportError);
      // RFC 6026 §8.1: 2xx retransmissions still reach us while the transaction waits in Accepted (Timer M);
      // re-ACK them through the dialog table, which forgets the call when it ends.
      tx.on('response', reAck);
    });
  }

  /** 2xx retransmissions passed up by a released call's B-leg INVITE transaction (RFC 6026 §8.1). */
  readonly #reAck = (res: SipResponse): void => {
    if (res.status >= 200 && res.status < 300) this.reAckStray(res);
  };

  /** A 2xx retransmission for a B-leg INVITE whose transaction has ended: re-send our ACK (RFC 6026 §8.1). */
  reAckStray(res: SipResponse): void {
    if (res.cseq.method !== 'INVITE' || res.status < 200 || res.status >= 300) return;
    const call = this.#o.registry.byResponse(res)?.call;
    if (call?.bAck !== undefined && res.cseq.seq === call.bInviteSeq)
      this.#o.teardown.sendAck(call.bAck, call.b!.nextHop());
  }

  #onBResponse(call: Call, hopIndex: number, res: SipResponse): void {
    if (call.hopIndex !== hopIndex) return; // a response for an abandoned hop
    const b = call.b!;
    const status = res.status;
    const teardown = this.#o.teardown;
    if (status === 100) return;
    if (status < 200) {
      if (call.abandoned) return;
      if (res.to.tag !== undefined) b.updateFromResponse(res);
      call.advance('provisional');
      this.#relayToA(call, res);
      return;
    }
    if (status < 300) {
      b.updateFromResponse(res);
      if (call.state === 'answered' || call.state === 'confirmed' || call.state === 'ending') {
        // RFC 6026: a 2xx retransmission in Accepted: re-ACK once our ACK exists.
        if (call.bAck !== undefined) teardown.sendAck(call.bAck, b.nextHop());
        return;
      }
      if (call.abandoned) {
        // The callee answered after the caller gave up: ACK and BYE it (RFC 3261 §15, the §9.1 race).
        teardown.sendBLegAck(call, undefined);
        call.advance('hangup');
        teardown.sendBye(call, 'b', () => teardown.end(call, 'cancelled'));
        return;
      }
      call.advance('answer');
      this.#relayToA(call, res);
      return;
    }
    // Final non-2xx: the client transaction has ACKed it (RFC 3261 §17.1.1.3).
    if (call.abandoned) {
      teardown.end(call, 'cancelled');
      return;
    }
    if (status === 487) {
      // Only our own CANCEL of a hop that rang too long (Timer C, invite_timeout_s) gets 487 on a call the
      // caller did not give up: RFC 3261 §16.8 treats the branch as timed out, so the caller sees 408.
      if (call.trunk.route.failoverOn.has(408) && this.#failover(call)) return;
      this.#respondA(call, 408, undefined);
      teardown.end(call, 'unanswered');
      return;
    }
    if (call.trunk.route.failoverOn.has(status) && this.#failover(call)) return;
    this.#relayToA(call, res);
    teardown.end(call, 'failed');
  }

  #bFailed(call: Call, hopIndex: number, status: number): void {
    if (call.hopIndex !== hopIndex || call.ended) return;
    if (call.state === 'cancelling') {
      this.#o.teardown.end(call, 'cancelled');
      return;
    }
    if (!isSettingUp(call.state)) return;
    // A hop that rang (early) and then timed out was CANCELled by Timer C and never answered the CANCEL.
    const rang = call.state === 'early' && status === 408;
    if (this.#failover(call)) return;
    // RFC 3261 §21.5.4: every hop failed by transport (503): say when to come back (docs/errors.md).
    this.#respondA(call, status, undefined, status === 503 ? [['Retry-After', '5']] : undefined);
    this.#o.teardown.end(call, rang ? 'unanswered' : 'failed');
  }

  /**
   * Move to the next hop of the route (docs/config.md `failover_on`). Returns false when none is left. The
   * new B-leg INVITE is built like the first, with the same hook edits (call.edits).
   */
  #failover(call: Call): boolean {
    const next = call.hopIndex + 1;
    if (next >= call.trunk.route.hops.length || call.aInvite === undefined) return false;
    if (!call.advance('failover')) return false;
    this.#o.registry.removeBLeg(call);
    call.bConnectionId = undefined;
    call.hopIndex = next;
    call.bTx = undefined;
    call.b = undefined;
    this.#forward(call);
    return true;
  }

  // ---- answers to the caller --------------------------------------------------------------------

  #relayToA(call: Call, res: SipResponse): void {
    const { aInvite, aTx } = call;
    if (aInvite === undefined || aTx === undefined) return;
    const out = createResponse(aInvite, res.status, res.reason, { toTag: call.aTag });
    copyCrossingHeaders(res, out, call.trunk.headerRules);
    if (res.status < 300 || res.has('contact')) out.append('contact', call.a.localContact);
    out.body = res.body;
    if (res.status >= 200) call.finalStatus ??= res.status;
    // RFC 3261 §13.3.1.4: the UAS core retransmits its 2xx until the ACK (or ackTimeout).
    if (res.status >= 200 && res.status < 300) {
      call.answeredAtMs ??= Date.now();
      this.#o.reaper.answered(call, res, out);
      aTx.respondReliably2xx(out);
    } else {
      aTx.respond(out);
    }
  }

  #respondA(
    call: Call,
    status: number,
    reason: string | undefined,
    headers?: readonly (readonly [string, string])[],
  ): void {
    const { aInvite, aTx } = call;
    if (aInvite === undefined || aTx === undefined) return;
    const out = createResponse(aInvite, status, reason, { toTag: call.aTag });
    for (const [n, v] of headers ?? []) out.append(n, v);
    if (status >= 200) call.finalStatus ??= status;
    aTx.respond(out);
  }

  /**
   * A closure made here captures only `tx`: one made in newCall would share that function's closure
   * context, which holds the call, and keep the whole call alive while the transaction waits in Accepted
   * (RFC 6026 Timer L, 64*T1) after the call has ended.
   */
  #forgetOnTermination(tx: ServerTransaction): void {
    const registry = this.#o.registry;
    tx.on('terminated', () => registry.forgetInviteTx(tx));
  }
}
