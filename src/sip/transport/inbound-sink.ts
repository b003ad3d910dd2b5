import { SipParseError } from '../message/errors.js';
import type { SipMessage } from '../message/message.js';
import { type ConnectionCloseReason, publish } from './transport-events.js';
import type { Flow } from './types.js';

/** Where the UDP and TCP transports hand what they read; the TransportLayer implements it. */
export interface InboundSink {
  /** `raw` is the datagram or stream frame the message was parsed from (for error reports only). */
  message(message: SipMessage, flow: Flow, receivedAt: bigint, raw: Buffer): void;
  parseError(error: SipParseError, flow: Flow, raw: Buffer): void;
  /** A TCP connection closed (`reason`: the peer, an error, or our own choice): its id is gone for good. */
  connectionClosed(connectionId: number, reason: ConnectionCloseReason): void;
}

/**
 * Parse one framed message and hand it to the sink; a parse failure goes to `sink.parseError`. Anything
 * else the parser throws is a bug in the parser, not in the peer: it is published as a handler error and
 * the bytes are dropped, so no peer input can throw out of a socket callback.
 */
export function deliver(
  sink: InboundSink,
  parse: (raw: Buffer) => SipMessage,
  raw: Buffer,
  flow: Flow,
  receivedAt: bigint,
): void {
  let message: SipMessage;
  try {
    message = parse(raw);
  } catch (err) {
    if (err instanceof SipParseError) sink.parseError(err, flow, raw);
    else publish('stirgate:transport:handler_error', { error: err });
    return;
  }
  sink.message(message, flow, receivedAt, raw);
}

/** Node error code of a socket error (`ECONNRESET`, `EPIPE` ...), for events. */
export function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}
