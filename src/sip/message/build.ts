/**
 * Building responses and fresh identifiers (RFC 3261 §8.2.6, §8.1.1.4, §8.1.1.7, §19.3, §21).
 */
import { randomFillSync } from 'node:crypto';
import { type SipRequest, SipResponse } from './message.js';
import { parseNameAddr } from './name-addr.js';
import type { SipHeader } from './types.js';

/** Reason phrases: RFC 3261 §21 and later RFCs (IANA "Response Codes" registry). */
const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  199: 'Early Dialog Terminated', // RFC 6228
  200: 'OK',
  202: 'Accepted', // RFC 6665
  204: 'No Notification', // RFC 5839
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  412: 'Conditional Request Failed', // RFC 3903
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  417: 'Unknown Resource-Priority', // RFC 4412
  420: 'Bad Extension',
  421: 'Extension Required',
  422: 'Session Interval Too Small', // RFC 4028
  423: 'Interval Too Brief',
  424: 'Bad Location Information', // RFC 6442
  428: 'Use Identity Header', // RFC 8224
  429: 'Provide Referrer Identity', // RFC 3892
  430: 'Flow Failed', // RFC 5626
  433: 'Anonymity Disallowed', // RFC 5079
  436: 'Bad Identity Info', // RFC 8224
  437: 'Unsupported Credential', // RFC 8224
  438: 'Invalid Identity Header', // RFC 8224
  439: 'First Hop Lacks Outbound Support', // RFC 5626
  440: 'Max-Breadth Exceeded', // RFC 5393
  469: 'Bad Info Package', // RFC 6086
  470: 'Consent Needed', // RFC 5360
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event', // RFC 6665
  491: 'Request Pending',
  493: 'Undecipherable',
  494: 'Security Agreement Required', // RFC 3329
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  555: 'Push Notification Service Not Supported', // RFC 8599
  580: 'Precondition Failure', // RFC 3312
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
  607: 'Unwanted', // RFC 8197
  608: 'Rejected', // RFC 8688
};

const CLASS_REASONS = [
  '',
  'Provisional',
  'Success',
  'Redirection',
  'Client Error',
  'Server Error',
  'Global Failure',
];

/** The standard reason phrase for a status code, or a generic one for its class. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? CLASS_REASONS[Math.floor(status / 100)] ?? 'Unknown';
}

export interface ResponseOptions {
  /** Added to To when the request's To has no tag (RFC 3261 §8.2.6.2); omit for 100 Trying. */
  readonly toTag?: string;
  /** Extra header lines, appended in order after the copied ones. */
  readonly headers?: readonly (readonly [name: string, value: string])[];
  readonly body?: Buffer;
  /** Content-Type for `body`. */
  readonly contentType?: string;
}

const COPIED = new Set(['via', 'from', 'to', 'call-id', 'cseq']);
const HAS_TAG = /;\s*tag\s*=/i;

/**
 * A response to `req` (RFC 3261 §8.2.6.2): every Via in order, From, To (plus `toTag` when To has none),
 * Call-ID and CSeq copied as they were received; for 100 also Timestamp (§8.2.6.1). Works on the `partial`
 * message of a SipParseError, copying whatever it has. Content-Length is written by serializeMessage.
 */
export function createResponse(
  req: SipRequest,
  status: number,
  reason?: string,
  opts?: ResponseOptions,
): SipResponse {
  const headers: SipHeader[] = [];
  for (const h of req.headers) {
    if (COPIED.has(h.name) || (status === 100 && h.name === 'timestamp')) {
      if (h.name === 'to' && opts?.toTag !== undefined && !toHasTag(h.value)) {
        headers.push({ name: h.name, rawName: h.rawName, value: `${h.value};tag=${opts.toTag}` });
      } else {
        headers.push(h);
      }
    }
  }
  const res = new SipResponse(status, reason ?? reasonPhrase(status), headers, opts?.body);
  if (opts?.headers !== undefined) for (const [name, value] of opts.headers) res.append(name, value);
  if (opts?.body !== undefined && opts.body.length > 0 && opts.contentType !== undefined) {
    res.set('content-type', opts.contentType);
  }
  return res;
}

function toHasTag(value: string): boolean {
  try {
    return parseNameAddr(value).tag !== undefined;
  } catch {
    return HAS_TAG.test(value); // unparseable To on a partial message: best effort
  }
}

// Identifiers come from one pooled buffer of random octets, refilled when spent.
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const s = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return s;
}

/** A From/To tag with 64 random bits (RFC 3261 §19.3 asks for at least 32). */
export function generateTag(): string {
  return randomHex(8);
}

/** A branch with the RFC 3261 magic cookie and 96 random bits (§8.1.1.7). */
export function generateBranch(): string {
  return `z9hG4bK${randomHex(12)}`;
}

/** A globally unique Call-ID (RFC 3261 §8.1.1.4): 128 random bits, optionally `@host`. */
export function generateCallId(host?: string): string {
  const id = randomHex(16);
  return host === undefined ? id : `${id}@${host}`;
}
