import type { SipRequest } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';

/** An INVITE with the given extra header lines (From, PAI, Reason ...) between the fixed ones. */
export function invite(
  lines: readonly string[],
  uri = 'sip:+1-202-555-0199@127.0.0.1;user=phone',
): SipRequest {
  return parseMessage(
    Buffer.from(
      [
        `INVITE ${uri} SIP/2.0`,
        'Via: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK1',
        'To: <sip:2025550198@b.example>',
        'Call-ID: c',
        'CSeq: 1 INVITE',
        ...lines,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    ),
  ) as SipRequest;
}
