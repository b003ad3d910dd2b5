import { SipParseError } from '../sip/message/errors.js';
import type { SipRequest } from '../sip/message/message.js';

/**
 * Checks a UAS makes before acting on a request (RFC 3261 §8.2.1–§8.2.3), plus the proxy rule for
 * Max-Forwards that a B2BUA in the signalling path must honour (RFC 3261 §16.3 item 3).
 * Returns the response to send, or undefined when the request may proceed.
 */
export interface Refusal {
  readonly status: number;
  readonly headers?: readonly (readonly [string, string])[];
}

/** Methods this element handles. Others that are known get 405; unknown ones 501 (RFC 3261 §8.2.1). */
export const ALLOWED_METHODS = [
  'INVITE',
  'ACK',
  'CANCEL',
  'BYE',
  'OPTIONS',
  'UPDATE',
  'INFO',
  'PRACK',
] as const;
export const ALLOW_HEADER = ALLOWED_METHODS.join(', ');
const ALLOWED: ReadonlySet<string> = new Set(ALLOWED_METHODS);
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  ...ALLOWED_METHODS,
  'REGISTER',
  'SUBSCRIBE',
  'NOTIFY',
  'REFER',
  'MESSAGE',
  'PUBLISH',
]);

/** Option tags we can honour end to end (RFC 3262 100rel, RFC 4028 timer, RFC 3311 update...). */
export const SUPPORTED_OPTION_TAGS: ReadonlySet<string> = new Set([
  '100rel',
  'timer',
  'replaces',
  'update',
  'histinfo',
  'norefersub',
]);

/** Body types we relay on INVITE; an INVITE with another type gets 415 (RFC 3261 §8.2.3). */
const ACCEPTED_BODY_TYPES: ReadonlySet<string> = new Set([
  'application/sdp',
  'multipart/mixed',
  'multipart/alternative',
  'application/isup',
]);
export const ACCEPT_HEADER = 'application/sdp, multipart/mixed';

export function validateRequest(req: SipRequest, inDialog: boolean): Refusal | undefined {
  // RFC 3261 §8.2.1: method inspection.
  if (!ALLOWED.has(req.method)) {
    return KNOWN_METHODS.has(req.method)
      ? { status: 405, headers: [['Allow', ALLOW_HEADER]] }
      : { status: 501, headers: [['Allow', ALLOW_HEADER]] };
  }
  // RFC 3261 §8.2.2.1: Request-URI scheme.
  const scheme = req.requestUri.scheme;
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') return { status: 416 };
  // RFC 3261 §16.3 item 3: Max-Forwards zero is not forwarded (OPTIONS we answer ourselves).
  if (req.maxForwards === 0 && req.method !== 'OPTIONS') return { status: 483 };
  // RFC 3261 §8.2.2.3 (Require) and §20.29 (Proxy-Require): unknown extensions -> 420 + Unsupported.
  const unsupported = [...req.getAll('require'), ...req.getAll('proxy-require')]
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.length > 0 && !SUPPORTED_OPTION_TAGS.has(t));
  if (unsupported.length > 0 && req.method !== 'CANCEL' && req.method !== 'ACK') {
    return { status: 420, headers: [['Unsupported', [...new Set(unsupported)].join(', ')]] };
  }
  // RFC 3261 §8.1.1.8, §12.1.1, §12.2.2: the Contact of a dialog-creating or target-refresh request becomes
  // the remote target; one that does not parse is a malformed request (§8.2.6: 400), not our failure.
  if (TARGET_REFRESH.has(req.method) && !contactParses(req)) return { status: 400 };
  if (req.method === 'INVITE' && !inDialog) {
    // RFC 3261 §8.2.3: content processing.
    if (req.body.length > 0) {
      const ct = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (!ACCEPTED_BODY_TYPES.has(ct)) return { status: 415, headers: [['Accept', ACCEPT_HEADER]] };
    }
    // RFC 3261 §21.4.7: we can only answer with SDP; an Accept that excludes it gets 406.
    const accept = req.getAll('accept');
    if (accept.length > 0 && !accept.some(acceptsSdp))
      return { status: 406, headers: [['Accept', ACCEPT_HEADER]] };
  }
  return undefined;
}

/** Requests whose Contact sets or refreshes the dialog's remote target (RFC 3261 §12.1.1, §12.2.2; RFC 3311 §5.1). */
const TARGET_REFRESH: ReadonlySet<string> = new Set(['INVITE', 'UPDATE']);

function contactParses(req: SipRequest): boolean {
  try {
    void req.contact;
    return true;
  } catch (err) {
    if (err instanceof SipParseError) return false;
    throw err;
  }
}

function acceptsSdp(range: string): boolean {
  const t = range.split(';')[0]!.trim().toLowerCase();
  return t === 'application/sdp' || t === 'application/*' || t === '*/*' || t === '';
}
