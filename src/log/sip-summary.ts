import type { SipMessage } from '../sip/message/message.js';

/** What a log line says about a SIP message at any level: no headers, no body, no Identity token. */
export interface SipSummary {
  readonly method?: string;
  readonly status?: number;
  readonly callId?: string;
  readonly cseq?: string;
}

/**
 * pino serializer for the `sip` field: a one-line summary of a SipMessage (method or status, Call-ID, CSeq).
 * Full messages are logged only as SIP traces, at trace level (sip-trace.ts). Never throws: a header that
 * fails to parse is left out.
 */
export function sipSummary(value: unknown): unknown {
  if (!isSipMessage(value)) return value;
  const out: { method?: string; status?: number; callId?: string; cseq?: string } = {};
  if (value.isRequest()) out.method = value.method;
  else out.status = (value as unknown as { status: number }).status;
  const callId = value.get('call-id');
  if (callId !== undefined) out.callId = callId;
  const cseq = value.get('cseq');
  if (cseq !== undefined) out.cseq = cseq;
  return out satisfies SipSummary;
}

function isSipMessage(v: unknown): v is SipMessage {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { isRequest?: unknown }).isRequest === 'function' &&
    Array.isArray((v as { headers?: unknown }).headers)
  );
}
