import { isIP } from 'node:net';
import { createResponse, generateBranch, generateTag } from '../message/build.js';
import { detach } from '../message/detach.js';
import type { SipParseErrorCode } from '../message/errors.js';
import type { SipMessage, SipRequest, SipResponse } from '../message/message.js';
import { serializeMessage } from '../message/serialize.js';
import { tallyTransactionCreated } from '../message-tally.js';
import { familyOf, isWildcard } from '../transport/endpoint.js';
import type { Flow, InboundMessage, InboundParseError, Target } from '../transport/types.js';
import { type ClientInviteContext, ClientInviteTransaction } from './client-invite.js';
import { ClientNonInviteTransaction } from './client-non-invite.js';
import { ackKey, clientKey, type ServerKey, type ServerMatch, serverKey } from './matching.js';
import { type ServerInviteContext, ServerInviteTransaction } from './server-invite.js';
import { ServerNonInviteTransaction } from './server-non-invite.js';
import { type Clock, realClock, resolveTimers, type TimerConfig, type TransactionTimers } from './timers.js';
import { TransactionError } from './transaction-error.js';
import {
  type DropReason,
  methodLabel,
  publish,
  reportHandlerError,
  type StatelessReason,
  wants,
} from './transaction-events.js';
import type { ClientTransaction, TransactionTransport, TransactionUser } from './types.js';

export interface TransactionLayerOptions {
  readonly timers?: Partial<TimerConfig>;
  readonly clock?: Clock;
  /** RFC 3261 §17.2.1: send 100 Trying when the TU has not answered an INVITE within 200 ms. Default true. */
  readonly autoTrying?: boolean;
  /**
   * Host for the sent-by of our Via (RFC 3261 §18.1.1). Default: the listener's address; required when the
   * listener is bound to a wildcard address.
   */
  readonly viaHost?: string;
}

type ClientTx = ClientInviteTransaction | ClientNonInviteTransaction;
type ServerTx = ServerInviteTransaction | ServerNonInviteTransaction;

/** RFC 3261 §8.2.6 / §21: the stateless answer to a request the parser refused. */
const PARSE_ERROR_STATUS = {
  too_large: 513, // RFC 3261 §21.5.11 Message Too Large
  too_many_headers: 400,
  line_too_long: 400,
  incomplete: 400, // RFC 3261 §18.3: body shorter than Content-Length
  bad_start_line: 400,
  bad_version: 505, // RFC 3261 §8.2.6 / §21.5.7 Version Not Supported
  bad_status_code: 400,
  bad_header: 400,
  bad_octets: 400, // RFC 3261 §25.1: NUL or invalid UTF-8 in the header section
  missing_header: 400,
  duplicate_header: 400,
  bad_content_length: 400,
  bad_cseq: 400,
  cseq_method_mismatch: 400,
  bad_max_forwards: 400,
  bad_via: 400,
  bad_uri: 400,
  bad_name_addr: 400,
} as const satisfies Record<SipParseErrorCode, 400 | 505 | 513>;

/**
 * RFC 3261 §8.2.6 copies Via, From, To, Call-ID and CSeq into a response; only Via is needed to route it.
 * RFC 4475 §3.3.1 (insuf): a request missing the others should still get its 400, with what it has.
 */
const RESPONSE_HEADERS = ['via'] as const;

/**
 * The RFC 3261 §17 transaction layer: creates, matches (§17.1.3, §17.2.3 incl. RFC 2543 peers) and runs
 * the four transaction state machines over a transport, answers CANCEL (§9.2), and answers requests the
 * parser refused statelessly (§8.2.6). Every transaction leaves every map when it terminates.
 */
export class TransactionLayer {
  readonly timers: TransactionTimers;
  readonly #transport: TransactionTransport;
  readonly #clock: Clock;
  readonly #viaHost: string | undefined;
  readonly #clients = new Map<string, ClientTx>();
  readonly #servers = new Map<string, ServerTx>();
  /** ACK-for-2xx routing: ackKey -> the INVITE server transaction that sent the 2xx. */
  readonly #acks = new Map<string, ServerInviteTransaction>();
  /** Requests whose top Via we wrote (re-sending one replaces that Via instead of stacking another). */
  readonly #stamped = new WeakSet<SipRequest>();
  readonly #unsubscribe: (() => void)[] = [];
  readonly #ctx: ClientInviteContext & ServerInviteContext;
  #tu: TransactionUser | undefined;
  #closed = false;
  #rfc2543Seq = 0;

  constructor(transport: TransactionTransport, opts: TransactionLayerOptions = {}) {
    this.timers = resolveTimers(opts.timers);
    this.#transport = transport;
    this.#clock = opts.clock ?? realClock;
    this.#viaHost = opts.viaHost;
    this.#ctx = {
      transport,
      clock: this.#clock,
      timers: this.timers,
      autoTrying: opts.autoTrying ?? true,
      serialize: serializeKept,
      createResponse: (req, status) => createResponse(req, status),
      release: (tx) => this.#release(tx as unknown as ClientTx | ServerTx),
      sendCancel: (cancel, target) => this.#startCancel(cancel, target),
      expectAck: (tx, req, res) => this.#expectAck(tx, req, res),
    };
    for (const unsub of [
      transport.onMessage((m) => this.#receive(m)),
      transport.onParseError((e) => this.#receiveParseError(e)),
    ]) {
      if (typeof unsub === 'function') this.#unsubscribe.push(unsub as () => void);
    }
  }

  setUser(tu: TransactionUser): void {
    this.#tu = tu;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Start a client transaction (RFC 3261 §17.1): prepends our Via (`SIP/2.0/<UDP|TCP> host:port;
   * branch=z9hG4bK...;rport`, RFC 3261 §8.1.1.7, RFC 3581) and sends. The transaction owns the request
   * from here on. Throws TransactionError (`closed`, `invalid_request`, `no_local_address`) or the
   * transport's `no_listener` for a protocol we do not listen on.
   */
  sendRequest(req: SipRequest, target: Target): ClientTransaction {
    this.#checkOpen();
    if (req.method === 'ACK' || req.method === 'CANCEL') {
      throw new TransactionError(
        'invalid_request',
        `${req.method} is not sent with sendRequest (use sendAck / ClientTransaction.cancel)`,
      );
    }
    if (req.cseq.method !== req.method) {
      throw new TransactionError('invalid_request', `CSeq method ${req.cseq.method} != ${req.method}`);
    }
    // GAP(RFC 3261 §18.1.1): a UDP request within 200 octets of the MTU is not moved to TCP here; the TU
    // chooses the target.
    const branch = generateBranch();
    this.#stampVia(req, target, branch);
    const tx =
      req.method === 'INVITE'
        ? new ClientInviteTransaction(this.#ctx, branch, req, target)
        : new ClientNonInviteTransaction(this.#ctx, branch, req, target);
    this.#clients.set(clientKey(branch, req.method), tx);
    this.#created(tx);
    tx.start();
    return tx;
  }

  /**
   * ACK for a 2xx (RFC 3261 §13.2.2.4): a transaction of its own, sent statelessly with a new branch. Sending
   * the same ACK object again (for a retransmitted 2xx) reuses its Via. Rejects with TransportError.
   */
  async sendAck(ack: SipRequest, target: Target): Promise<void> {
    this.#checkOpen();
    if (ack.method !== 'ACK')
      throw new TransactionError('invalid_request', `sendAck needs an ACK, got ${ack.method}`);
    if (!this.#stamped.has(ack)) this.#stampVia(ack, target, generateBranch());
    await this.#transport.send(target, ack);
  }

  /** Live transactions (and 2xx still routed for their ACK). Zero when idle: every entry leaves on termination. */
  stats(): { client: number; server: number; awaitingAck: number } {
    return { client: this.#clients.size, server: this.#servers.size, awaitingAck: this.#acks.size };
  }

  /**
   * Stop: unsubscribe from the transport, terminate every transaction without events, clear every timer.
   * Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe.splice(0)) u();
    for (const tx of [...this.#clients.values()]) tx.terminate('closed');
    for (const tx of [...this.#servers.values()]) tx.terminate('closed');
    this.#clients.clear();
    this.#servers.clear();
    this.#acks.clear();
  }

  // --- inbound ---------------------------------------------------------------------------------

  #receive(m: InboundMessage): void {
    if (this.#closed) return;
    const msg = m.message;
    if (msg.isRequest()) this.#receiveRequest(msg, m.flow);
    else this.#receiveResponse(msg as SipResponse, m.flow);
  }

  #receiveRequest(req: SipRequest, flow: Flow): void {
    const method = req.method;
    let key: ServerKey;
    let toTag: string | undefined;
    try {
      key = serverKey(req, method === 'ACK' ? 'INVITE' : method);
      toTag = req.to.tag;
    } catch {
      this.#drop('malformed_request');
      return;
    }
    if (method === 'ACK') {
      this.#receiveAck(req, flow, key, toTag);
      return;
    }
    if (method === 'CANCEL') {
      this.#receiveCancel(req, flow, key, toTag);
      return;
    }
    const existing = this.#servers.get(key.key);
    // RFC 3261 §17.2.3 (RFC 2543 rules also compare the To tag with the original request's).
    if (existing !== undefined && (key.rfc3261 || existing.rfc2543ToTag === toTag)) {
      existing.receiveRequest();
      return;
    }
    // Overload (RFC 3261 §8.2.7: a UAS may answer statelessly): a shed INVITE leaves no transaction behind,
    // no timers and no memory; its ACK matches nothing and reaches the TU as a stray. A retransmission of an
    // INVITE already admitted matched its transaction above and is never shed.
    if (method === 'INVITE' && toTag === undefined) {
      const retryAfter = this.#tu?.shedInvite?.(req, flow);
      if (retryAfter !== undefined) {
        this.#shedStatelessly(req, flow, retryAfter);
        return;
      }
    }
    const tx = this.#newServer(req, flow, key, toTag);
    const tu = this.#tu;
    if (tu === undefined) {
      tx.respond(createResponse(req, 503, undefined, { toTag: generateTag() }));
      return;
    }
    try {
      tu.onRequest(req, tx, flow);
    } catch (err) {
      reportHandlerError('onRequest', err);
      // The TU failed before answering: answer for it so the transaction (and the peer) can finish.
      if (tx.state === 'trying' || tx.state === 'proceeding') {
        tx.respond(createResponse(req, 500, undefined, { toTag: generateTag() }));
      }
    }
  }

  /**
   * ACK (RFC 3261 §17.2.3: matches the INVITE transaction). For a non-2xx final it is the transaction's own
   * (absorbed, -> Confirmed). Otherwise it acknowledges a 2xx: routed to the accepted INVITE transaction
   * that sent it (stops 2xx retransmission), and always passed to the TU (RFC 6026 §7.1).
   */
  #receiveAck(ack: SipRequest, flow: Flow, key: ServerKey, toTag: string | undefined): void {
    const found = this.#servers.get(key.key);
    let accepted: ServerInviteTransaction | undefined;
    if (found instanceof ServerInviteTransaction && (key.rfc3261 || found.finalToTag === toTag)) {
      if (found.state === 'completed' || found.state === 'confirmed') {
        found.receiveAck(ack);
        return;
      }
      if (found.state === 'proceeding') {
        // No final response yet: nothing to acknowledge.
        this.#drop('ack_before_final');
        return;
      }
      accepted = found;
    }
    let dialogKey: string | undefined;
    try {
      dialogKey = ackKey(ack.callId, ack.cseq.seq, ack.from.tag, toTag);
    } catch {
      dialogKey = undefined;
    }
    const waiting = (dialogKey === undefined ? undefined : this.#acks.get(dialogKey)) ?? accepted;
    waiting?.receiveAck2xx(ack);
    const tu = this.#tu;
    if (tu === undefined) {
      this.#drop('ack_without_tu');
      return;
    }
    try {
      tu.onAck(ack, flow);
    } catch (err) {
      reportHandlerError('onAck', err);
    }
  }

  /**
   * CANCEL (RFC 3261 §9.2): its own non-INVITE server transaction, answered here — 200 when it matches a
   * live INVITE server transaction (§17.2.3 except for the method), else 481. The TU decides the 487.
   */
  #receiveCancel(cancel: SipRequest, flow: Flow, key: ServerKey, toTag: string | undefined): void {
    const existing = this.#servers.get(key.key);
    if (existing !== undefined && (key.rfc3261 || existing.rfc2543ToTag === toTag)) {
      existing.receiveRequest();
      return;
    }
    const cancelTx = this.#newServer(cancel, flow, key, toTag);
    let invite: ServerInviteTransaction | undefined;
    try {
      const k = serverKey(cancel, 'INVITE');
      const found = this.#servers.get(k.key);
      if (found instanceof ServerInviteTransaction && (k.rfc3261 || found.rfc2543ToTag === toTag))
        invite = found;
    } catch {
      invite = undefined;
    }
    if (invite === undefined || invite.terminated) {
      cancelTx.respond(createResponse(cancel, 481, undefined, { toTag: generateTag() }));
      invite = undefined;
    } else {
      // RFC 3261 §9.2: the 200 carries the To tag of the INVITE's responses when there is one.
      cancelTx.respond(createResponse(cancel, 200, undefined, { toTag: invite.toTag ?? generateTag() }));
      invite.receiveCancel(cancel);
    }
    const tu = this.#tu;
    if (tu === undefined) return;
    try {
      tu.onCancel(cancel, invite, flow);
    } catch (err) {
      reportHandlerError('onCancel', err);
    }
  }

  /** RFC 3261 §17.1.3: branch + CSeq method; no match -> the TU (§17.1.1.2 after Timer M, forks ...). */
  #receiveResponse(res: SipResponse, flow: Flow): void {
    let tx: ClientTx | undefined;
    let method: string;
    try {
      method = res.cseq.method;
      const branch = res.topVia?.branch;
      tx = branch === undefined ? undefined : this.#clients.get(clientKey(branch, method));
    } catch {
      this.#drop('malformed_response');
      return;
    }
    if (tx !== undefined) {
      tx.receiveResponse(res, flow);
      return;
    }
    if (wants('stirgate:transaction:stray_response')) {
      publish('stirgate:transaction:stray_response', {
        method: methodLabel(method),
        statusClass: `${Math.floor(res.status / 100)}xx`,
      });
    }
    const tu = this.#tu;
    if (tu === undefined) return;
    try {
      tu.onStrayResponse(res, flow);
    } catch (err) {
      reportHandlerError('onStrayResponse', err);
    }
  }

  /**
   * A message the transport could not parse. A request with the headers a response needs (Via, From, To,
   * Call-ID, CSeq — RFC 3261 §8.2.6) gets 400 (505 for a SIP version other than 2.0, 513 when too large),
   * with the problem in the reason phrase (§21.4.1). Responses, ACKs and the rest are dropped.
   */
  #receiveParseError(e: InboundParseError): void {
    if (this.#closed) return;
    const answered = this.#answerParseError(e);
    const tu = this.#tu;
    if (tu?.onParseError === undefined) return;
    try {
      tu.onParseError(e, answered);
    } catch (err) {
      reportHandlerError('onParseError', err);
    }
  }

  #answerParseError(e: InboundParseError): number | undefined {
    const partial = e.error.partial;
    if (
      partial === undefined ||
      !partial.isRequest() ||
      partial.method === 'ACK' ||
      RESPONSE_HEADERS.some((h) => !partial.has(h))
    ) {
      this.#drop('parse_error_unanswerable');
      return undefined;
    }
    const code = e.error.code;
    const status = PARSE_ERROR_STATUS[code];
    const reason = status === 400 ? `Bad Request - ${reasonText(e.error.message)}` : undefined;
    let res: SipResponse;
    try {
      res = createResponse(partial, status, reason, { toTag: generateTag() });
    } catch {
      this.#drop('parse_error_unanswerable');
      return undefined;
    }
    let target: Target;
    try {
      target = this.#transport.responseTarget(res, e.flow);
    } catch {
      // A Via we cannot route on: answer the address the request came from (RFC 3581 behaviour).
      target = {
        protocol: e.flow.protocol,
        remote: e.flow.remote,
        ...(e.flow.connectionId === undefined ? {} : { connectionId: e.flow.connectionId }),
      };
    }
    if (wants('stirgate:transaction:stateless_response')) {
      const why: StatelessReason =
        code === 'bad_version' ? 'bad_version' : code === 'too_large' ? 'too_large' : 'parse_error';
      publish('stirgate:transaction:stateless_response', { status, why });
    }
    this.#transport.send(target, res).catch(() => {
      // The transport publishes its own socket errors; there is no transaction to tell.
    });
    return status;
  }

  /** 503 with Retry-After, sent without a transaction (RFC 3261 §8.2.7) to where the response would go. */
  #shedStatelessly(req: SipRequest, flow: Flow, retryAfterS: number): void {
    const res = createResponse(req, 503, undefined, { toTag: generateTag() });
    res.append('retry-after', String(retryAfterS));
    let target: Target;
    try {
      target = this.#transport.responseTarget(res, flow);
    } catch {
      target = {
        protocol: flow.protocol,
        remote: flow.remote,
        ...(flow.connectionId === undefined ? {} : { connectionId: flow.connectionId }),
      };
    }
    this.#transport.send(target, res).catch(() => {
      // The transport publishes its own socket errors; there is no transaction to tell.
    });
  }

  // --- transactions ----------------------------------------------------------------------------

  #newServer(req: SipRequest, flow: Flow, key: ServerKey, toTag: string | undefined): ServerTx {
    // The id, key and To tag outlive the request (wait states): detached from its header text.
    const id = key.branch === undefined ? `rfc2543-${++this.#rfc2543Seq}` : detach(key.branch);
    const mapKey = detach(key.key);
    const match: ServerMatch = {
      key: mapKey,
      rfc2543ToTag: key.rfc3261 || toTag === undefined ? undefined : detach(toTag),
    };
    const tx =
      req.method === 'INVITE'
        ? new ServerInviteTransaction(this.#ctx, id, match, req, flow)
        : new ServerNonInviteTransaction(this.#ctx, id, match, req, flow);
    this.#servers.set(mapKey, tx);
    this.#created(tx);
    tx.start();
    return tx;
  }

  /** RFC 3261 §9.1: the CANCEL reuses the INVITE's Via (and branch), so it is keyed by that branch + CANCEL. */
  #startCancel(cancel: SipRequest, target: Target): void {
    if (this.#closed) return;
    let branch: string | undefined;
    try {
      branch = cancel.topVia?.branch;
    } catch {
      branch = undefined;
    }
    if (branch === undefined) return;
    const key = clientKey(branch, 'CANCEL');
    if (this.#clients.has(key)) return;
    const tx = new ClientNonInviteTransaction(this.#ctx, branch, cancel, target);
    this.#clients.set(key, tx);
    this.#created(tx);
    tx.start();
  }

  #expectAck(tx: ServerInviteTransaction, req: SipRequest, res: SipResponse): void {
    if (tx.ackKey !== undefined) return;
    let key: string;
    try {
      key = detach(ackKey(req.callId, req.cseq.seq, req.from.tag, res.to.tag));
    } catch {
      return;
    }
    tx.ackKey = key;
    this.#acks.set(key, tx);
  }

  #release(tx: ClientTx | ServerTx): void {
    if (tx.side === 'client') {
      const key = clientKey(tx.id, tx.method);
      if (this.#clients.get(key) === tx) this.#clients.delete(key);
      return;
    }
    if (this.#servers.get(tx.key) === tx) this.#servers.delete(tx.key);
    if (tx instanceof ServerInviteTransaction && tx.ackKey !== undefined) {
      if (this.#acks.get(tx.ackKey) === tx) this.#acks.delete(tx.ackKey);
      tx.ackKey = undefined;
    }
  }

  #created(tx: ClientTx | ServerTx): void {
    tallyTransactionCreated(tx.side, tx.method);
    if (wants('stirgate:transaction:created')) publish('stirgate:transaction:created', tx.labels());
  }

  /** RFC 3261 §18.1.1 / §8.1.1.7 / RFC 3581 §3: our Via, replacing one we wrote earlier on this object. */
  #stampVia(req: SipRequest, target: Target, branch: string): void {
    const local = this.#transport.localEndpoint(target.protocol, familyOf(target.remote.address));
    const host = this.#viaHost ?? local.address;
    if (isWildcard(host)) {
      throw new TransactionError(
        'no_local_address',
        `the ${target.protocol} listener is bound to ${host}: set viaHost to the address to advertise`,
      );
    }
    const hostText = isIP(host) === 6 ? `[${host}]` : host;
    const via = `SIP/2.0/${target.protocol.toUpperCase()} ${hostText}:${local.port};branch=${branch};rport`;
    if (this.#stamped.has(req)) req.removeFirstValue('via');
    req.prepend('via', via);
    this.#stamped.add(req);
  }

  #checkOpen(): void {
    if (this.#closed) throw new TransactionError('closed', 'transaction layer is closed');
  }

  #drop(why: DropReason): void {
    if (wants('stirgate:transaction:dropped')) publish('stirgate:transaction:dropped', { why });
  }
}

/**
 * Wire bytes a transaction keeps to retransmit, in a buffer of their own: a slice of Node's shared 8 KiB
 * pool held through a wait state (32 s) would keep the whole pool chunk alive.
 */
function serializeKept(msg: SipMessage): Buffer {
  return serializeMessage(msg, Buffer.allocUnsafeSlow);
}

/** Error text made safe for a reason phrase (RFC 3261 §25.1 Reason-Phrase: no CR/LF), bounded. */
function reasonText(message: string): string {
  const clean = message.replace(/[^\x20-\x7e]/g, ' ').trim();
  return clean.length > 96 ? `${clean.slice(0, 93)}...` : clean;
}
