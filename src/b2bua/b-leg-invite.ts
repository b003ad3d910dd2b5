import { Dialog, uriOnly } from '../sip/dialog/dialog.js';
import { generateCallId, generateTag } from '../sip/message/build.js';
import { SipRequest } from '../sip/message/message.js';
import type { Call } from './call.js';
import { copyCrossingHeaders } from './header-rules.js';
import { applyLegEdits } from './leg-edits.js';
import type { LocalContact } from './local-contact.js';
import type { NextHop } from './router.js';
import { removePeerVerificationClaims } from './trust-boundary.js';

export interface BLegInviteOptions {
  readonly contact: LocalContact;
  readonly maxForwards: number;
  readonly userAgent: string;
  /** B-leg Call-IDs (RFC 3261 §8.1.1.4); a cluster worker supplies ones that hash to itself. */
  readonly newCallId: () => string;
}

/**
 * Build the B-leg INVITE of `call` towards `hop` from the A-leg INVITE, and the B-leg dialog it opens. Every
 * B-leg INVITE of a call (the first, and one per failover) is built here the same way: new dialog
 * identifiers (RFC 3261 §8.1.1, topology hiding), the headers that cross (src/b2bua/header-rules.ts), the
 * peer's verification claims removed on STIR trunks (src/b2bua/trust-boundary.ts), then the hooks' edits
 * (call.edits) in chain order.
 */
export function buildBLegInvite(
  call: Call,
  a: SipRequest,
  hop: NextHop,
  o: BLegInviteOptions,
): { req: SipRequest; dialog: Dialog } {
  const host = hop.address.includes(':') ? `[${hop.address}]` : hop.address;
  const user = requestUser(a);
  const userPhone = a.requestUri.scheme === 'tel' || /;user=phone/i.test(a.uri) ? ';user=phone' : '';
  const ruri = `sip:${user !== undefined ? `${user}@` : ''}${host}:${hop.port}${userPhone}`;
  const req = new SipRequest('INVITE', ruri);
  // RFC 3261 §16.6 item 3 (as a proxy would): one less than received, and never more than we allow.
  const mf = a.maxForwards;
  req.append('max-forwards', String(mf === undefined ? o.maxForwards : Math.min(mf - 1, o.maxForwards)));
  const bTag = generateTag();
  req.append('from', `${uriOnly(a.get('from') ?? '')};tag=${bTag}`);
  const toUri = uriOnly(a.get('to') ?? '');
  req.append('to', toUri);
  req.append('call-id', o.newCallId());
  const seq = 1 + Math.floor(Math.random() * 10000);
  req.append('cseq', `${seq} INVITE`);
  const localContact = o.contact.contact(hop.protocol);
  req.append('contact', localContact);
  copyCrossingHeaders(a, req, call.trunk.headerRules);
  const boundary = call.trunk.trustBoundary;
  if (boundary !== undefined) removePeerVerificationClaims(req, boundary);
  applyLegEdits(req, call.edits);
  if (o.userAgent !== '' && !req.has('user-agent')) req.append('user-agent', o.userAgent);
  req.body = a.body;
  const dialog = new Dialog({
    callId: req.callId,
    localTag: bTag,
    remoteTag: undefined,
    // After the edits: in-dialog requests carry the From we sent (RFC 3261 §12.2.1.1), verstat included.
    localUri: uriOnly(req.get('from') ?? ''),
    remoteUri: toUri,
    localSeq: seq,
    remoteSeq: undefined,
    remoteTarget: ruri,
    routeSet: [],
    localContact,
    fallback: hop.target,
  });
  return { req, dialog };
}

export const defaultNewCallId = generateCallId;

/** User part of the Request-URI (sip/sips user, tel number), kept as on the wire. */
function requestUser(req: SipRequest): string | undefined {
  const uri = req.requestUri;
  if (uri.scheme === 'tel' && 'number' in uri) return uri.number;
  if ((uri.scheme === 'sip' || uri.scheme === 'sips') && 'user' in uri) return uri.user;
  return undefined;
}
