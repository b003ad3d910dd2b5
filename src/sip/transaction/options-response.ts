import { createResponse, generateTag } from '../message/build.js';
import type { SipRequest, SipResponse } from '../message/message.js';

export interface Capabilities {
  /** Methods we accept (RFC 3261 §20.5 Allow). */
  readonly allow: readonly string[];
  /** Body types we accept (RFC 3261 §20.1 Accept). Default `application/sdp`. */
  readonly accept?: readonly string[];
  /** Option tags we support (RFC 3261 §20.37 Supported). */
  readonly supported?: readonly string[];
  /** RFC 3261 §20.2 Accept-Encoding, §20.3 Accept-Language; omitted when undefined. */
  readonly acceptEncoding?: readonly string[];
  readonly acceptLanguage?: readonly string[];
}

/**
 * Building block for the TU's answer to OPTIONS (RFC 3261 §11.2): a 200 listing our capabilities, without a
 * body. The layer does not answer OPTIONS itself; the TU decides (status, whether to answer at all).
 */
export function optionsResponse(req: SipRequest, caps: Capabilities, status = 200): SipResponse {
  const headers: [string, string][] = [['Allow', caps.allow.join(', ')]];
  headers.push(['Accept', (caps.accept ?? ['application/sdp']).join(', ')]);
  if (caps.acceptEncoding !== undefined) headers.push(['Accept-Encoding', caps.acceptEncoding.join(', ')]);
  if (caps.acceptLanguage !== undefined) headers.push(['Accept-Language', caps.acceptLanguage.join(', ')]);
  if (caps.supported !== undefined && caps.supported.length > 0) {
    headers.push(['Supported', caps.supported.join(', ')]);
  }
  return createResponse(req, status, undefined, { toTag: generateTag(), headers });
}
