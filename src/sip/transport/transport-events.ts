import { channel } from 'node:diagnostics_channel';
import { type EventChannel, eventChannel } from '../../event-channel.js';
import type { SipParseErrorCode } from '../message/errors.js';
import type { SipMessage, SipResponse } from '../message/message.js';
import type { Endpoint, TransportProtocol } from './types.js';

/**
 * What the transport layer publishes on `node:diagnostics_channel`. Publishing is guarded by
 * `hasSubscribers`, so nothing is built when no one (metrics, logs) listens.
 */
export interface TransportEventMap {
  'stirgate:transport:message_in': MessageEvent;
  'stirgate:transport:message_out': MessageEvent & { readonly bytes: number };
  'stirgate:transport:parse_error': {
    readonly protocol: TransportProtocol;
    readonly code: SipParseErrorCode;
  };
  'stirgate:transport:keepalive': { readonly protocol: TransportProtocol; readonly answered: boolean };
  'stirgate:transport:connection_open': ConnectionEvent;
  'stirgate:transport:connection_close': ConnectionEvent & { readonly reason: ConnectionCloseReason };
  'stirgate:transport:connection_refused': {
    readonly remote: Endpoint;
    readonly reason: ConnectionRefusedReason;
  };
  /** A socket error that was caught (ECONNRESET, EPIPE, EMSGSIZE ...): `errno` is the Node error code. */
  'stirgate:transport:socket_error': { readonly protocol: TransportProtocol; readonly errno: string };
  /** A message/parse-error handler threw; the transport swallowed it so one bad handler cannot kill the socket. */
  'stirgate:transport:handler_error': { readonly error: unknown };
  /** Not SIP on a UDP socket (STUN, junk starting with a control octet) — dropped. */
  'stirgate:transport:datagram_dropped': { readonly reason: 'stun' | 'keepalive' };
}

export type TransportEventName = keyof TransportEventMap;

export interface MessageEvent {
  readonly protocol: TransportProtocol;
  readonly kind: 'request' | 'response' | 'raw';
  /** Request method (requests only). */
  readonly method?: string;
  /** `1xx` ... `6xx` (responses only). */
  readonly statusClass?: string;
}

export interface ConnectionEvent {
  readonly id: number;
  readonly direction: 'inbound' | 'outbound';
  readonly remote: Endpoint;
}

/**
 * Why a connection closed. `slow`: a message was not complete within `tcpMessageTimeoutMs` of its first octet;
 * `framing`: the stream could not be split into messages (after the answer to the request, when it had one).
 */
export type ConnectionCloseReason = 'peer' | 'error' | 'idle' | 'slow' | 'framing' | 'local' | 'backpressure';

/** `limit`: `tcpMaxConnections` inbound; `source_limit`: `tcpMaxConnectionsPerSource` from that address. */
export type ConnectionRefusedReason = 'limit' | 'source_limit' | 'closing';

export const TRANSPORT_EVENT_NAMES = [
  'stirgate:transport:message_in',
  'stirgate:transport:message_out',
  'stirgate:transport:parse_error',
  'stirgate:transport:keepalive',
  'stirgate:transport:connection_open',
  'stirgate:transport:connection_close',
  'stirgate:transport:connection_refused',
  'stirgate:transport:socket_error',
  'stirgate:transport:handler_error',
  'stirgate:transport:datagram_dropped',
] as const satisfies readonly TransportEventName[];

const channels = new Map(TRANSPORT_EVENT_NAMES.map((n) => [n, channel(n)]));

/** True when someone subscribed; check before building an event object. */
export function wants(name: TransportEventName): boolean {
  return channels.get(name)!.hasSubscribers;
}

export function publish<N extends TransportEventName>(name: N, data: TransportEventMap[N]): void {
  const ch = channels.get(name)!;
  if (ch.hasSubscribers) ch.publish(data);
}

/**
 * Full SIP message traces (direction, peer, message or bytes) for trace-level logging (src/log/sip-trace.ts).
 * Kept off TRANSPORT_EVENT_NAMES on purpose: metrics never subscribe, and with no subscriber a send or
 * receive pays one property read. Carries whole messages (numbers, Call-IDs): subscribe at trace level only.
 */
export const TRANSPORT_TRACE_CHANNEL = 'stirgate:transport:trace';

export interface TransportTraceEvent {
  readonly direction: 'in' | 'out';
  readonly protocol: TransportProtocol;
  readonly remote: Endpoint;
  /** The message as parsed/sent, or the bytes (a retransmission, or input that did not parse). */
  readonly data: SipMessage | Buffer;
}

export const traceChannel: EventChannel<TransportTraceEvent> = eventChannel(TRANSPORT_TRACE_CHANNEL);

/** Channel payload describing a message (no string building unless subscribed — call under `wants`). */
export function describeMessage(protocol: TransportProtocol, message: SipMessage | Buffer): MessageEvent {
  if (Buffer.isBuffer(message)) return { protocol, kind: 'raw' };
  if (message.isRequest()) return { protocol, kind: 'request', method: message.method };
  const status = (message as SipResponse).status;
  return { protocol, kind: 'response', statusClass: `${Math.floor(status / 100)}xx` };
}
