import diagnostics_channel from 'node:diagnostics_channel';
import { bindBLeg } from '../log/call-logger.js';
import type { Logger } from '../log/logger.js';
import { Dialog, uriOnly } from '../sip/dialog/dialog.js';
import { createResponse, generateCallId, generateTag } from '../sip/message/build.js';
import { SipRequest, type SipResponse } from '../sip/message/message.js';
import type { ServerTransaction, TransactionLayer } from '../sip/transaction/index.js';
import type { Endpoint, Flow, TransportProtocol } from '../sip/transport/types.js';
import { Call, other, type Side } from './call.js';
import { copyCrossingHeaders } from './header-rules.js';
import type { InviteHook } from './hooks.js';
import { ACCEPT_HEADER, ALLOW_HEADER, validateRequest } from './request-validation.js';
import type { NextHop, Router, TrunkRuntime } from './router.js';

export interface B2buaOptions {
  readonly router: Router;
  readonly transactions: TransactionLayer;
  /** Our listening address for a protocol; undefined when we do not listen on it. */
  readonly localEndpoint: (protocol: TransportProtocol) => Endpoint | undefined;
  readonly logger: Logger;
  /** Hooks per trunk role (sign on originating, verify on terminating). */
  readonly hooks: Partial<Record<TrunkRuntime['role'], InviteHook>>;
  /** What to do with traffic from an address that matches no trunk. */
  readonly unmatched: {
    readonly action: 'reject' | 'passthrough';
    readonly status: number;
    readonly trunk?: TrunkRuntime;
  };
  readonly maxForwards: number;
  readonly userAgent: string;
  readonly maxCalls: number;
  /** How long to wait for the A-leg ACK of a 2xx before tearing down (64*T1, RFC 3261 §13.3.1.4). */
  readonly ackTimeoutMs: number;
  /**
   * B-leg Call-IDs (RFC 3261 §8.1.1.4); defaults to a random one. A cluster worker supplies Call-IDs that hash
   * to itself, so the B-leg's responses and requests reach it whichever worker reads them (src/cluster/).
   */
  readonly newCallId?: () => string;
}

/** Call lifecycle events for metrics (`node:diagnostics_channel`), published only when observed. */
export const callChannels = {
  started: diagnostics_channel.channel('stirgate:call:started'),
  forwarded: diagnostics_channel.channel('stirgate:call:forwarded'),
  ended: diagnostics_channel.channel('stirgate:call:ended'),
} as const;

const NO_HEADERS: ReadonlySet<string> = new Set();
/** Headers the relayed response must not copy: we write our own Contact, and Server/User-Agent pass. */
const TARGET_REFRESH: ReadonlySet<string> = new Set(['INVITE', 'UPDATE']);

/**
 * The B2BUA: the transaction user that pairs an A-leg with a B-leg per call, relays in-dialog traffic and
 * keeps the legs' topology apart. Only this module knows both SIP and STIR (through hooks).
 */
export class B2bua {
  readonly #o: B2buaOptions;
  readonly #calls = new Map<number, Call>();
  /** Dialog key (Call-ID + our tag on that leg) -> call and side. */
  readonly #dialogs = new Map<string, { call: Call; side: Side }>();
  /** A-leg INVITE server transaction -> call, for CANCEL. */
  readonly #byInviteTx = new Map<ServerTransaction, Call>();
  readonly #contacts = new Map<TransportProtocol, { ep: Endpoint; text: string }>();
  #nextId = 1;

  constructor(opts: B2buaOptions) {
    this.#o = opts;
  }

  stats(): { calls: number; dialogs: number } {
    return { calls: this.#calls.size, dialogs: this.#dialogs.size };
  }

  // ---- transaction user --------------------------------------------------------------------------

  onRequest(req: SipRequest, tx: ServerTransaction, flow: Flow): void {
    const toTag = req.to.tag;
    if (toTag !== undefined) {
      this.#inDialog(req, tx, flow, toTag);
      return;
    }
    const refusal = validateRequest(req, false);
    if (refusal !== undefined) {
      this.#respond(tx, req, refusal.status, undefined, refusal.headers);
      return;
    }
    switch (req.method) {
      case 'INVITE':
        this.#newCall(req, tx, flow);
        return;
      case 'OPTIONS':
        // Trunk keep-alive / capability query (RFC 3261 §11.2).
        this.#respond(tx, req, 200, undefined, [
          ['Allow', ALLOW_HEADER],
          ['Accept', ACCEPT_HEADER],
          ['Supported', '100rel, timer, update'],
        ]);
        return;
      default:
        // BYE/UPDATE/INFO/PRACK outside a dialog (RFC 3261 §12.2.2 / §15).
        this.#respond(tx, req, 481);
    }
  }

  onAck(ack: SipRequest, _flow: Flow): void {
    const found = this.#lookup(ack);
    if (found === undefined) return; // stray ACK: nothing to do (RFC 3261 §17.2.3)
    const { call, side } = found;
    const seq = ack.cseq.seq;
    if (side === 'a' && call.aInviteSeq === seq && call.state === 'answered') {
      call.state = 'confirmed';
      this.#sendBLegAck(call, ack);
      if (call.aTx !== undefined) this.#byInviteTx.delete(call.aTx);
      call.release(); // established: only the dialogs are needed from here on
      return;
    }
    const pending = call.pendingAcks.size === 0 ? undefined : call.pendingAcks.get(`${side}:${seq}`);
    if (pending === undefined) return;
    const dst = call.leg(other(side));
    if (dst === undefined) return;
    const out = dst.createRequest('ACK', { cseq: pending.otherCseq, maxForwards: this.#o.maxForwards });
    this.#copyBody(ack, out);
    pending.ack = out;
    this.#o.transactions.sendAck(out, dst.nextHop()).catch(() => undefined);
  }

  onCancel(_cancel: SipRequest, inviteTx: ServerTransaction | undefined, _flow: Flow): void {
    if (inviteTx === undefined) return;
    const call = this.#byInviteTx.get(inviteTx);
    if (call === undefined) return;
    // RFC 3261 §9.2: the UAS answers the INVITE with 487; we also cancel the B-leg (§9.1).
    if (call.state === 'routing' || call.state === 'calling' || call.state === 'early') {
      call.cancelled = true;
      this.#respondA(call, 487, undefined);
      if (call.bTx !== undefined) call.bTx.cancel();
      else this.#end(call, 'cancelled');
    }
  }

  /** 2xx retransmissions passed up by a released call's B-leg INVITE transaction (RFC 6026 §8.1). */
  readonly #reAck = (res: SipResponse): void => {
    if (res.status >= 200 && res.status < 300) this.onStrayResponse(res, undefined);
  };

  onStrayResponse(res: SipResponse, _flow: Flow | undefined): void {
    // A 2xx retransmission for a B-leg INVITE whose transaction has ended: re-send our ACK (RFC 6026 §8.1).
    if (res.cseq.method !== 'INVITE' || res.status < 200 || res.status >= 300) return;
    const found = this.#lookupResponse(res);
    if (found === undefined) return;
    const { call } = found;
    if (call.bAck !== undefined && res.cseq.seq === call.bInviteSeq) {
      this.#o.transactions.sendAck(call.bAck, call.b!.nextHop()).catch(() => undefined);
    }
  }

  // ---- new calls ---------------------------------------------------------------------------------

  #newCall(req: SipRequest, tx: ServerTransaction, flow: Flow): void {
    const receivedAt = process.hrtime.bigint();
    let trunk = this.#o.router.match(flow);
    if (trunk === undefined) {
      if (this.#o.unmatched.action === 'reject' || this.#o.unmatched.trunk === undefined) {
        this.#o.logger.info(
          { src: flow.remote.address, event: 'unmatched_source' },
          'INVITE from unknown source refused',
        );
        this.#respond(tx, req, this.#o.unmatched.status);
        return;
      }
      trunk = this.#o.unmatched.trunk;
    }
    if (this.#calls.size >= this.#o.maxCalls) {
      this.#respond(tx, req, 503, undefined, [['Retry-After', '5']]);
      return;
    }
    if (this.#isLoop(req)) {
      this.#respond(tx, req, 482);
      return;
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
      localContact: this.#contact(flow.protocol),
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
      log: this.#o.logger,
    });
    call.receivedAt = receivedAt;
    this.#calls.set(call.id, call);
    this.#dialogs.set(dialogKey(req.callId, aTag), { call, side: 'a' });
    this.#byInviteTx.set(tx, call);
    this.#forgetOnTermination(tx);
    const onAckTimeout = () => this.#ackTimeout(call);
    tx.on('ackTimeout', onAckTimeout);
    call.onRelease(() => tx.off('ackTimeout', onAckTimeout));
    if (callChannels.started.hasSubscribers)
      callChannels.started.publish({ trunk: trunk.name, role: trunk.role });
    void this.#route(call, receivedAt);
  }

  async #route(call: Call, receivedAt: bigint): Promise<void> {
    const hop = call.trunk.route.hops[call.hopIndex];
    if (hop === undefined) {
      this.#respondA(call, 503, undefined);
      this.#end(call, 'no_route');
      return;
    }
    const aInvite = call.aInvite;
    if (aInvite === undefined) return;
    const bReq = this.#buildBInvite(call, aInvite, hop);
    const hook = this.#o.hooks[call.trunk.role];
    if (hook !== undefined) {
      let decision: Awaited<ReturnType<InviteHook['onInitialInvite']>>;
      try {
        decision = await hook.onInitialInvite({
          trunk: call.trunk,
          aRequest: aInvite,
          bRequest: bReq,
          flow: call.aFlow,
          receivedAt,
          // A getter: the call's child logger is made only if the hook logs.
          get log() {
            return call.log;
          },
        });
      } catch (err) {
        // A hook must not throw; if one does, the call still goes on (never drop a call silently).
        call.log.error({ err }, 'invite hook failed; forwarding unchanged');
        decision = { action: 'continue' };
      }
      if (call.cancelled || call.ended) return;
      // The hook may have edited From (verstat): in-dialog requests must carry the same From (RFC 3261 §12.2.1.1).
      if (call.b !== undefined) call.b.localUri = uriOnly(bReq.get('from') ?? call.b.localUri);
      if (decision.action === 'reject') {
        this.#respondA(call, decision.status, decision.reasonPhrase, decision.headers);
        this.#end(call, 'rejected');
        return;
      }
    }
    this.#sendBInvite(call, bReq);
  }

  #buildBInvite(call: Call, a: SipRequest, hop: NextHop): SipRequest {
    const host = hop.address.includes(':') ? `[${hop.address}]` : hop.address;
    const user = requestUser(a);
    const ruri = `sip:${user !== undefined ? `${user}@` : ''}${host}:${hop.port}${a.requestUri.scheme === 'tel' || /;user=phone/i.test(a.uri) ? ';user=phone' : ''}`;
    const req = new SipRequest('INVITE', ruri);
    const mf = a.maxForwards;
    req.append(
      'max-forwards',
      String(mf === undefined ? this.#o.maxForwards : Math.min(mf - 1, this.#o.maxForwards)),
    );
    const bTag = generateTag();
    const fromUri = uriOnly(a.get('from') ?? '');
    const toUri = uriOnly(a.get('to') ?? '');
    req.append('from', `${fromUri};tag=${bTag}`);
    req.append('to', toUri);
    req.append('call-id', (this.#o.newCallId ?? generateCallId)());
    const seq = 1 + Math.floor(Math.random() * 10000);
    req.append('cseq', `${seq} INVITE`);
    req.append('contact', this.#contact(hop.protocol));
    copyCrossingHeaders(a, req, call.trunk.headerRules, NO_HEADERS);
    if (this.#o.userAgent !== '' && !req.has('user-agent')) req.append('user-agent', this.#o.userAgent);
    req.body = a.body;
    const target = hop.target;
    call.b = new Dialog({
      callId: req.callId,
      localTag: bTag,
      remoteTag: undefined,
      localUri: fromUri,
      remoteUri: toUri,
      localSeq: seq,
      remoteSeq: undefined,
      remoteTarget: ruri,
      routeSet: [],
      localContact: this.#contact(hop.protocol),
      fallback: target,
    });
    return req;
  }

  #sendBInvite(call: Call, req: SipRequest): void {
    const b = call.b!;
    this.#dialogs.set(dialogKey(b.callId, b.localTag), { call, side: 'b' });
    // The parent's level: asking the call's logger would make its pino child (and redaction) on every call.
    if (call.hopIndex === 0 && this.#o.logger.isLevelEnabled('debug')) bindBLeg(call.log, b.callId);
    call.bInvite = req;
    call.bInviteSeq = req.cseq.seq;
    call.state = 'calling';
    const tx = this.#o.transactions.sendRequest(req, b.fallback);
    call.bTx = tx;
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
    const timeout = call.trunk.route.inviteTimeoutMs;
    if (timeout !== undefined) {
      call.later(timeout, () => {
        if (call.bTx === tx && (call.state === 'calling' || call.state === 'early')) tx.cancel();
      });
    }
    // Events are tied to the hop they were sent to: after a failover, the old hop's are ignored.
    const hopIndex = call.hopIndex;
    const onResponse = (res: SipResponse) => this.#onBInviteResponse(call, hopIndex, res);
    const onTimeout = () => this.#bFailed(call, hopIndex, 408);
    const onTransportError = () => this.#bFailed(call, hopIndex, 503);
    tx.on('response', onResponse);
    tx.on('timeout', onTimeout);
    tx.on('transportError', onTransportError);
    call.onRelease(() => {
      tx.off('response', onResponse);
      tx.off('timeout', onTimeout);
      tx.off('transportError', onTransportError);
      // RFC 6026 §8.1: 2xx retransmissions still reach us while the transaction waits in Accepted (Timer M);
      // re-ACK them through the dialog table, which forgets the call when it ends.
      tx.on('response', this.#reAck);
    });
  }

  #onBInviteResponse(call: Call, hopIndex: number, res: SipResponse): void {
    if (call.hopIndex !== hopIndex) return; // a response for an abandoned hop
    const b = call.b!;
    const status = res.status;
    if (status === 100) return;
    if (status < 200) {
      if (call.cancelled || call.ended) return;
      if (res.to.tag !== undefined) b.updateFromResponse(res);
      call.state = 'early';
      this.#relayResponseToA(call, res);
      return;
    }
    if (status < 300) {
      b.updateFromResponse(res);
      if (call.state === 'answered' || call.state === 'confirmed' || call.state === 'ending') {
        // RFC 6026: a 2xx retransmission in `accepted`: re-ACK once our ACK exists.
        if (call.bAck !== undefined)
          this.#o.transactions.sendAck(call.bAck, b.nextHop()).catch(() => undefined);
        return;
      }
      if (call.cancelled || call.ended) {
        // The callee answered after the caller gave up: ACK and BYE it (RFC 3261 §15 / §9.1 race).
        this.#sendBLegAck(call, undefined);
        this.#sendBye(call, 'b', () => this.#end(call, 'cancelled'));
        return;
      }
      call.state = 'answered';
      this.#relayResponseToA(call, res);
      return;
    }
    // Final non-2xx: the client transaction has ACKed it (RFC 3261 §17.1.1.3).
    if (call.cancelled || call.ended) {
      this.#end(call, 'cancelled');
      return;
    }
    if (call.trunk.route.failoverOn.has(status) && this.#failover(call)) return;
    this.#relayResponseToA(call, res);
    this.#end(call, 'failed');
  }

  #bFailed(call: Call, hopIndex: number, status: number): void {
    if (call.hopIndex !== hopIndex || call.ended) return;
    if (call.cancelled) {
      this.#end(call, 'cancelled');
      return;
    }
    if (call.state === 'answered' || call.state === 'confirmed') return;
    if (this.#failover(call)) return;
    this.#respondA(call, status, undefined);
    this.#end(call, 'failed');
  }

  /** Move to the next hop of the route (docs/config.md `failover_on`). Returns false when none is left. */
  #failover(call: Call): boolean {
    const next = call.hopIndex + 1;
    const aInvite = call.aInvite;
    if (next >= call.trunk.route.hops.length || aInvite === undefined) return false;
    const old = call.b;
    if (old !== undefined) this.#dialogs.delete(dialogKey(old.callId, old.localTag));
    call.hopIndex = next;
    call.bTx = undefined;
    call.b = undefined;
    call.state = 'routing';
    const hop = call.trunk.route.hops[next]!;
    const req = this.#buildBInvite(call, aInvite, hop);
    // The hook's edits (Identity etc.) were made on the first B-leg request: carry them over.
    if (call.bInvite !== undefined) {
      for (const name of ['identity', 'p-asserted-identity', 'reason']) {
        if (call.bInvite.has(name)) {
          req.remove(name);
          for (const v of call.bInvite.headers.filter((h) => h.name === name)) req.headers.push(v);
        }
      }
      req.invalidate();
    }
    this.#sendBInvite(call, req);
    return true;
  }

  #relayResponseToA(call: Call, res: SipResponse): void {
    const { aInvite, aTx } = call;
    if (aInvite === undefined || aTx === undefined) return;
    const out = createResponse(aInvite, res.status, res.reason, { toTag: call.aTag });
    copyCrossingHeaders(res, out, call.trunk.headerRules, NO_HEADERS);
    if (res.status < 300 || res.has('contact')) out.append('contact', call.a.localContact);
    out.body = res.body;
    if (res.status >= 200 && res.status < 300) {
      // RFC 3261 §13.3.1.4: the UAS core retransmits its 2xx until the ACK (or ackTimeout).
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
    aTx.respond(out);
  }

  #sendBLegAck(call: Call, aAck: SipRequest | undefined): void {
    const b = call.b;
    if (b === undefined || call.bInviteSeq === undefined) return;
    const ack = b.createRequest('ACK', { cseq: call.bInviteSeq, maxForwards: this.#o.maxForwards });
    if (aAck !== undefined) this.#copyBody(aAck, ack);
    call.bAck = ack;
    // RFC 6026 §8.1: 2xx retransmissions come only while the callee's Timer L runs (64*T1); keep the ACK that
    // long, then let an established call hold nothing but its dialogs.
    call.later(this.#o.ackTimeoutMs, () => {
      if (call.bAck === ack) call.bAck = undefined;
    });
    this.#o.transactions.sendAck(ack, b.nextHop()).catch(() => undefined);
  }

  #ackTimeout(call: Call): void {
    // RFC 3261 §13.3.1.4: no ACK for our 2xx: end the dialog with BYE on both legs.
    if (call.state !== 'answered') return;
    call.log.warn({ event: 'ack_timeout' }, 'no ACK for 2xx; ending call');
    this.#sendBLegAck(call, undefined);
    call.state = 'ending';
    let pending = 2;
    const done = () => {
      if (--pending === 0) this.#end(call, 'ack_timeout');
    };
    this.#sendBye(call, 'a', done);
    this.#sendBye(call, 'b', done);
  }

  // ---- in-dialog ---------------------------------------------------------------------------------

  #inDialog(req: SipRequest, tx: ServerTransaction, _flow: Flow, _toTag: string): void {
    const found = this.#lookup(req);
    if (found === undefined) {
      // RFC 3261 §12.2.2: a request for an unknown dialog.
      this.#respond(tx, req, 481);
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
      this.#respond(tx, req, 500, 'CSeq Out of Order');
      return;
    }
    src.remoteSeq = req.cseq.seq;
    const refusal = validateRequest(req, true);
    if (refusal !== undefined) {
      this.#respond(tx, req, refusal.status, undefined, refusal.headers);
      return;
    }
    if (req.method === 'BYE') {
      this.#respond(tx, req, 200);
      if (call.state === 'ending') return;
      if (dst === undefined || dst.remoteTag === undefined) {
        this.#end(call, 'bye');
        return;
      }
      call.state = 'ending';
      this.#sendBye(call, other(side), () => this.#end(call, 'bye'), req);
      return;
    }
    if (dst === undefined || call.state === 'ending') {
      this.#respond(tx, req, 481);
      return;
    }
    if (TARGET_REFRESH.has(req.method)) src.updateFromRequest(req);
    const out = dst.createRequest(req.method, { maxForwards: this.#o.maxForwards });
    copyCrossingHeaders(req, out, call.trunk.headerRules, NO_HEADERS);
    if (req.method === 'PRACK') {
      // RFC 3262 §7.2: RAck names the B-leg INVITE; RSeq numbers pass through unchanged.
      const rack = (req.get('rack') ?? '').trim().split(/\s+/);
      const inviteSeq = side === 'a' ? call.bInviteSeq : call.aInviteSeq;
      if (rack[0] !== undefined && inviteSeq !== undefined)
        out.append('rack', `${rack[0]} ${inviteSeq} INVITE`);
    }
    out.body = req.body;
    const ctx = this.#o.transactions.sendRequest(out, dst.nextHop());
    ctx.on('response', (res) => {
      if (res.status === 100) return;
      const back = createResponse(req, res.status, res.reason);
      copyCrossingHeaders(res, back, call.trunk.headerRules, NO_HEADERS);
      if (TARGET_REFRESH.has(req.method) && res.status < 300) {
        dst.updateFromResponse(res);
        back.append('contact', src.localContact);
      }
      back.body = res.body;
      if (req.method === 'INVITE' && res.status >= 200 && res.status < 300) {
        const key = `${side}:${req.cseq.seq}`;
        const pending = call.pendingAcks.get(key);
        if (pending?.ack !== undefined) {
          this.#o.transactions.sendAck(pending.ack, dst.nextHop()).catch(() => undefined);
          return;
        }
        call.pendingAcks.set(key, { from: side, otherCseq: out.cseq.seq });
        call.later(this.#o.ackTimeoutMs + 1000, () => call.pendingAcks.delete(key));
      }
      tx.respond(back);
    });
    ctx.on('timeout', () => this.#respond(tx, req, 408));
    ctx.on('transportError', () => this.#respond(tx, req, 503));
  }

  #sendBye(call: Call, side: Side, done: () => void, cause?: SipRequest): void {
    const leg = call.leg(side);
    if (leg === undefined || leg.remoteTag === undefined) {
      done();
      return;
    }
    const bye = leg.createRequest('BYE', { maxForwards: this.#o.maxForwards });
    if (cause !== undefined) {
      const reason = cause.get('reason');
      if (reason !== undefined) bye.append('reason', reason);
    }
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

  /**
   * A closure made here captures only `tx`: one made in #newCall would share that function's closure
   * context, which holds the call, and keep the whole call alive while the transaction waits in Accepted
   * (RFC 6026 Timer L, 64*T1) after the call has ended.
   */
  #forgetOnTermination(tx: ServerTransaction): void {
    tx.on('terminated', () => this.#byInviteTx.delete(tx));
  }

  #end(call: Call, cause: string): void {
    if (call.ended) return;
    call.state = 'ended';
    call.clearTimers();
    this.#calls.delete(call.id);
    this.#dialogs.delete(dialogKey(call.a.callId, call.a.localTag));
    if (call.b !== undefined) this.#dialogs.delete(dialogKey(call.b.callId, call.b.localTag));
    if (call.aTx !== undefined) this.#byInviteTx.delete(call.aTx);
    call.release();
    if (callChannels.ended.hasSubscribers)
      callChannels.ended.publish({ trunk: call.trunk.name, role: call.trunk.role, cause });
  }

  // ---- helpers -----------------------------------------------------------------------------------

  #lookup(req: SipRequest): { call: Call; side: Side } | undefined {
    const tag = req.to.tag;
    if (tag === undefined) return undefined;
    return this.#dialogs.get(dialogKey(req.callId, tag));
  }

  #lookupResponse(res: SipResponse): { call: Call; side: Side } | undefined {
    const tag = res.from.tag;
    if (tag === undefined) return undefined;
    return this.#dialogs.get(dialogKey(res.callId, tag));
  }

  #respond(
    tx: ServerTransaction,
    req: SipRequest,
    status: number,
    reason?: string,
    headers?: readonly (readonly [string, string])[],
  ): void {
    const res = createResponse(
      req,
      status,
      reason,
      status > 100 ? { toTag: req.to.tag ?? generateTag() } : {},
    );
    for (const [n, v] of headers ?? []) res.append(n, v);
    tx.respond(res);
  }

  #copyBody(src: SipRequest, dst: SipRequest): void {
    if (src.body.length === 0) return;
    const ct = src.get('content-type');
    if (ct !== undefined) dst.append('content-type', ct);
    dst.body = src.body;
  }

  #contact(protocol: TransportProtocol): string {
    // Advertise a socket we listen on: the leg's protocol if we have it, else the other one.
    let proto = protocol;
    let ep = this.#o.localEndpoint(protocol);
    if (ep === undefined) {
      proto = protocol === 'udp' ? 'tcp' : 'udp';
      ep = this.#o.localEndpoint(proto);
    }
    if (ep === undefined) return '<sip:stirgate@invalid>';
    // One string per endpoint, shared by every dialog that advertises it (each call holds two).
    const known = this.#contacts.get(proto);
    if (known !== undefined && known.ep === ep) return known.text;
    const host = ep.address.includes(':') ? `[${ep.address}]` : ep.address;
    const text = `<sip:stirgate@${host}:${ep.port}${proto === 'tcp' ? ';transport=tcp' : ''}>`;
    this.#contacts.set(proto, { ep, text });
    return text;
  }

  /** RFC 3261 §16.3 item 4 style loop check: a Via naming one of our own sockets. */
  #isLoop(req: SipRequest): boolean {
    const ours: Endpoint[] = [];
    for (const p of ['udp', 'tcp'] as const) {
      const ep = this.#o.localEndpoint(p);
      if (ep !== undefined) ours.push(ep);
    }
    for (const v of req.via) {
      for (const ep of ours) {
        if (v.host === ep.address && (v.port ?? 5060) === ep.port) return true;
      }
    }
    return false;
  }

  /** End every call (shutdown). */
  close(): void {
    for (const call of [...this.#calls.values()]) this.#end(call, 'shutdown');
  }
}

function dialogKey(callId: string, localTag: string): string {
  return `${callId}\u0000${localTag}`;
}

/** User part of the Request-URI (sip/sips user, tel number), kept as on the wire. */
function requestUser(req: SipRequest): string | undefined {
  const uri = req.requestUri;
  if (uri.scheme === 'tel' && 'number' in uri) return uri.number;
  if ((uri.scheme === 'sip' || uri.scheme === 'sips') && 'user' in uri) return uri.user;
  return undefined;
}
