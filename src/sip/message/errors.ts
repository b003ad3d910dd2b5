import { StirgateError } from '../../errors.js';
import type { SipMessage } from './message.js';

/** Stable codes for every way a message can be refused by the message layer. Callers branch on these. */
export type SipParseErrorCode =
  | 'too_large' // over the configured message size limit
  | 'too_many_headers'
  | 'line_too_long'
  | 'incomplete' // header section not terminated / body shorter than Content-Length (datagram)
  | 'bad_start_line'
  | 'bad_version' // syntactically a SIP-Version, but not SIP/2.0 (answer 505)
  | 'bad_status_code'
  | 'bad_header' // a header line that is not `name: value`
  | 'bad_octets' // NUL or invalid UTF-8 in the header section (RFC 3261 §25.1)
  | 'missing_header' // To, From, Call-ID, CSeq or Via missing
  | 'duplicate_header' // a single-value header repeated (RFC 4475 §3.3.8)
  | 'bad_content_length'
  | 'bad_cseq'
  | 'cseq_method_mismatch'
  | 'bad_max_forwards'
  | 'bad_via'
  | 'bad_uri'
  | 'bad_name_addr';

/**
 * A message the parser refused. `partial` is set when the start line and header lines could be split,
 * so the caller can still answer a request with 400 (RFC 3261 §8.2.6 needs Via, From, To, Call-ID, CSeq).
 */
export class SipParseError extends StirgateError<SipParseErrorCode> {
  partial: SipMessage | undefined;

  constructor(code: SipParseErrorCode, message: string, partial?: SipMessage) {
    super(code, message);
    this.partial = partial;
  }
}
