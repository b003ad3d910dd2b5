import { StirgateError } from '../../errors.js';
import type { SipParseError } from '../message/errors.js';
import type { SipMessage } from '../message/message.js';

/** Transports this element speaks (RFC 3261 §18). TLS attaches here later. */
export type TransportProtocol = 'udp' | 'tcp';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * The path a message travelled: protocol, our socket, the peer. For TCP `connectionId` names the
 * connection so a response goes back on it (RFC 3261 §18.2.2).
 */
export interface Flow {
  readonly protocol: TransportProtocol;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly connectionId?: number;
}

/** Where to send: a connection is reused when `connectionId` is set and still open, else one is opened/reused by address. */
export interface Target {
  readonly protocol: TransportProtocol;
  readonly remote: Endpoint;
  readonly connectionId?: number;
}

/**
 * Sees every UDP datagram before it is parsed (after STUN and CRLF keep-alives are set aside). Returning true
 * means it was handed elsewhere (cluster mode: to the worker owning its Call-ID, src/cluster/) and this
 * process must not process it.
 */
export interface DatagramSteer {
  divert(datagram: Buffer, remote: Endpoint, local: Endpoint): boolean;
}

export interface ListenSpec {
  readonly protocol: TransportProtocol;
  readonly address: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
}

export interface InboundMessage {
  readonly message: SipMessage;
  readonly flow: Flow;
  /** process.hrtime.bigint() when the bytes arrived. */
  readonly receivedAt: bigint;
}

export interface InboundParseError {
  readonly error: SipParseError;
  readonly flow: Flow;
  readonly raw: Buffer;
}

/** Stable codes for transport failures surfaced to the transaction layer. */
export type TransportErrorCode =
  | 'connect_failed'
  | 'connect_timeout'
  | 'connection_closed'
  | 'send_failed'
  | 'no_listener';

export class TransportError extends StirgateError<TransportErrorCode> {}

export interface TransportLimits {
  /** Largest message accepted, bytes (default 65536). */
  readonly maxMessageSize: number;
  readonly maxHeaders: number;
  readonly maxLineLength: number;
  readonly tcpMaxConnections: number;
  /** Inbound connections one source address may hold; more are refused (connection floods). */
  readonly tcpMaxConnectionsPerSource: number;
  readonly tcpIdleTimeoutMs: number;
  /** A message must be complete (header section and body) within this time of its first octet (slowloris). */
  readonly tcpMessageTimeoutMs: number;
  readonly tcpConnectTimeoutMs: number;
}
