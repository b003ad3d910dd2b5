import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Logger } from 'pino';
import type { SipMessage } from '../sip/message/message.js';
import { serializeMessage } from '../sip/message/serialize.js';
import type { Endpoint, TransportProtocol } from '../sip/transport/types.js';

/**
 * SIP message traces: every message in and out, in full, logged at trace level only (they carry Identity
 * tokens and phone numbers). The transport publishes on this channel only when it has a subscriber, and
 * we subscribe only when the logger is at trace, so traces cost nothing otherwise.
 */
export const SIP_TRACE_CHANNEL = 'stirgate:transport:trace';

export interface SipTraceEvent {
  readonly direction: 'in' | 'out';
  readonly protocol: TransportProtocol;
  readonly remote: Endpoint;
  /** The message as parsed/sent, or the bytes (a retransmission, or input that did not parse). */
  readonly data: SipMessage | Buffer;
}

/** Subscribe the trace writer when `logger` is at trace; returns the unsubscribe function (a no-op otherwise). */
export function subscribeSipTrace(logger: Logger): () => void {
  if (!logger.isLevelEnabled('trace')) return () => undefined;
  const onTrace = (message: unknown): void => {
    if (!logger.isLevelEnabled('trace')) return;
    const e = message as SipTraceEvent;
    let text: string;
    try {
      text = (Buffer.isBuffer(e.data) ? e.data : serializeMessage(e.data)).toString('utf8');
    } catch {
      text = '<unserialisable message>';
    }
    logger.trace(
      {
        event: 'sip_trace',
        dir: e.direction,
        proto: e.protocol,
        remote: `${e.remote.address}:${e.remote.port}`,
        sipText: text,
      },
      e.direction === 'in' ? 'SIP received' : 'SIP sent',
    );
  };
  subscribe(SIP_TRACE_CHANNEL, onTrace);
  return () => unsubscribe(SIP_TRACE_CHANNEL, onTrace);
}
