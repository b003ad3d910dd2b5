import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Logger } from 'pino';
import { serializeMessage } from '../sip/message/serialize.js';
import { TRANSPORT_TRACE_CHANNEL, type TransportTraceEvent } from '../sip/transport/transport-events.js';

/**
 * SIP message traces: every message in and out, in full, logged at trace level only (they carry Identity
 * tokens and phone numbers). The transport publishes on this channel only when it has a subscriber, and
 * we subscribe only when the logger is at trace, so traces cost nothing otherwise.
 */
export const SIP_TRACE_CHANNEL = TRANSPORT_TRACE_CHANNEL;
export type SipTraceEvent = TransportTraceEvent;

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
