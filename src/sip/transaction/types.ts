import type { SipMessage, SipRequest, SipResponse } from '../message/message.js';
import type {
  Endpoint,
  Flow,
  InboundMessage,
  InboundParseError,
  Target,
  TransportError,
  TransportProtocol,
} from '../transport/types.js';

export type ClientTransactionState =
  | 'calling'
  | 'trying'
  | 'proceeding'
  | 'accepted'
  | 'completed'
  | 'terminated';
export type ServerTransactionState =
  | 'trying'
  | 'proceeding'
  | 'accepted'
  | 'completed'
  | 'confirmed'
  | 'terminated';

/** States of the INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §7.2). */
export type ClientInviteState = Exclude<ClientTransactionState, 'trying'>;
/** States of the non-INVITE client transaction (RFC 3261 §17.1.2). */
export type ClientNonInviteState = Exclude<ClientTransactionState, 'calling' | 'accepted'>;
/** States of the INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1). */
export type ServerInviteState = Exclude<ServerTransactionState, 'trying'>;
/** States of the non-INVITE server transaction (RFC 3261 §17.2.2). */
export type ServerNonInviteState = Exclude<ServerTransactionState, 'accepted' | 'confirmed'>;

/** What a client transaction tells its user (RFC 3261 §17.1). */
export interface ClientTransactionEvents {
  /** Every provisional and final response passed up, including 2xx retransmissions in `accepted` (RFC 6026). */
  response: (res: SipResponse) => void;
  /**
   * Timer B or F fired (RFC 3261 §17.1.1.2, §17.1.2.2), or no final response came 64*T1 after our CANCEL
   * (§9.1): treat as 408.
   */
  timeout: () => void;
  transportError: (err: TransportError) => void;
  terminated: () => void;
}

export interface ServerTransactionEvents {
  /**
   * Timer H fired without an ACK for a non-2xx final (RFC 3261 §17.2.1), or the TU left a non-INVITE
   * request unanswered past the guard timer.
   */
  timeout: () => void;
  transportError: (err: TransportError) => void;
  terminated: () => void;
  /** An ACK for the 2xx this INVITE transaction sent (RFC 6026 §7.1; also passed to `TransactionUser.onAck`). */
  ack: (ack: SipRequest) => void;
  /** `respondReliably2xx` retransmitted for 64*T1 without an ACK (RFC 3261 §13.3.1.4): end the session. */
  ackTimeout: () => void;
  /** A CANCEL matched this transaction and was answered 200 (RFC 3261 §9.2); the TU decides the 487. */
  cancel: (cancel: SipRequest) => void;
}

/** Minimal typed subscription surface shared by both transaction kinds. */
export interface TransactionEventSource<E> {
  on<K extends keyof E>(event: K, listener: E[K]): this;
  once<K extends keyof E>(event: K, listener: E[K]): this;
  off<K extends keyof E>(event: K, listener: E[K]): this;
}

export interface CancelOptions {
  /** Raw RFC 3326 Reason header value to put in the CANCEL (e.g. `SIP;cause=487;text="..."`). */
  readonly reason?: string;
}

/** A client transaction (RFC 3261 §17.1) as the TU sees it. */
export interface ClientTransaction extends TransactionEventSource<ClientTransactionEvents> {
  /** Branch of our Via: the transaction id (RFC 3261 §17.1.3). */
  readonly id: string;
  readonly kind: 'invite' | 'non-invite';
  readonly state: ClientTransactionState;
  /**
   * The request sent, while the transaction needs it: until a final response arrives (or it terminates).
   * Past that point the wait states (Accepted/Timer M, Completed/Timer D and K) keep at most the ACK's
   * bytes, so the parsed request is released and reading `request` throws TransactionError
   * `request_released`. Keep your own reference if you need it longer.
   */
  readonly request: SipRequest;
  readonly target: Target;
  /** The flow the request left on, once the transport resolved it. */
  readonly flow: Flow | undefined;
  /**
   * RFC 3261 §9.1: CANCEL this INVITE. Sent once a provisional has arrived (deferred until then); dropped
   * if a final arrives first. No-op for non-INVITE transactions and after a final response.
   */
  cancel(options?: CancelOptions): void;
}

/** A server transaction (RFC 3261 §17.2) as the TU sees it. */
export interface ServerTransaction extends TransactionEventSource<ServerTransactionEvents> {
  /** Branch of the request's top Via (or a synthetic id for RFC 2543 peers). */
  readonly id: string;
  readonly kind: 'invite' | 'non-invite';
  readonly state: ServerTransactionState;
  /**
   * The request received, while the transaction needs it: until the TU's final response (or termination).
   * Past that point the wait states (Accepted/Timer L, Completed/Timer G-H and J, Confirmed/Timer I) keep
   * at most the final response's bytes, so the parsed request is released and reading `request` throws
   * TransactionError `request_released`. Use the request passed to `TransactionUser.onRequest` if you need
   * it longer.
   */
  readonly request: SipRequest;
  /** The flow the request arrived on. */
  readonly flow: Flow;
  /**
   * Send a response through the transaction. Returns false when the state does not allow it (e.g. a
   * final after a final); a 2xx may be sent again in `accepted` (a retransmission by the TU).
   */
  respond(res: SipResponse): boolean;
  /**
   * INVITE only: send a 2xx and retransmit it T1, 2*T1 ... T2 until an ACK for it arrives
   * (RFC 3261 §13.3.1.4). Emits `ack` on the ACK, `ackTimeout` after 64*T1 without one.
   */
  respondReliably2xx(res: SipResponse): boolean;
}

/** The transaction user (UAS/UAC core — the B2BUA) above this layer (RFC 3261 §17). */
export interface TransactionUser {
  /** A new request (not ACK, not CANCEL) created a server transaction. */
  onRequest(req: SipRequest, tx: ServerTransaction, flow: Flow): void;
  /** ACK for a 2xx (no transaction of its own, RFC 3261 §17.1.1.3), or matched to an accepted INVITE. */
  onAck(ack: SipRequest, flow: Flow): void;
  /**
   * A CANCEL arrived. The layer already answered it: 200 when it matched a live server transaction
   * (`tx`, in any state — check `tx.state === 'proceeding'` before sending 487), else 481 (RFC 3261 §9.2).
   */
  onCancel(cancel: SipRequest, tx: ServerTransaction | undefined, flow: Flow): void;
  /** A response that matches no client transaction (e.g. a 2xx retransmission after Timer M). */
  onStrayResponse(res: SipResponse, flow: Flow): void;
  /** The transport refused a message; `answered` is the status we sent statelessly, if any. */
  onParseError?(error: InboundParseError, answered: number | undefined): void;
  /**
   * Asked about each new initial INVITE (no To tag, no transaction yet) before a transaction is made for it:
   * a number refuses it at once with a stateless 503 carrying that Retry-After (RFC 3261 §8.2.7, §21.5.4).
   */
  shedInvite?(req: SipRequest, flow: Flow): number | undefined;
}

/** The subset of TransportLayer the transaction layer uses; unit tests supply a fake. */
export interface TransactionTransport {
  send(target: Target, data: SipMessage | Buffer): Promise<Flow>;
  responseTarget(res: SipResponse, requestFlow: Flow): Target;
  /** The address and port to advertise in Via for this protocol. */
  localEndpoint(protocol: TransportProtocol, family?: 4 | 6): Endpoint;
  onMessage(cb: (msg: InboundMessage) => void): unknown;
  onParseError(cb: (err: InboundParseError) => void): unknown;
}
