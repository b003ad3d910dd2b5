import { splitHeaderValues } from '../sip/message/headers.js';
import type { SipRequest } from '../sip/message/message.js';
import { formatNameAddr, parseNameAddr } from '../sip/message/name-addr.js';
import type { NameAddr, Params } from '../sip/message/types.js';
import { formatUri, isSipUri, uriUserNumber, withoutUserParam, withUserParam } from '../sip/message/uri.js';
import type { Verstat } from '../stir/codes.js';
import { canonicalizeTn } from '../stir/tn.js';

/**
 * `verstat` on the URIs that carry the calling number (3GPP TS 24.229 §7.2A.20): From and
 * P-Asserted-Identity. Only the verification service of the terminating network writes it; a verstat that
 * arrived from a peer is a claim we cannot check and is never passed on.
 */

/** Headers whose URIs carry the calling number (RFC 8224 §8.3 via RFC 3325). */
const CALLING_HEADERS: ReadonlySet<string> = new Set(['from', 'p-asserted-identity']);

const VERSTAT = /verstat/i;

/**
 * Write `verstat` on every From/PAI URI that carries a telephone number, replacing any there (in the user
 * part, among the URI's parameters or the header's). A URI without a number (`sip:anonymous@...`) gets none.
 * Header order is kept.
 */
export function markVerstat(req: SipRequest, verstat: Verstat): void {
  rewriteCallingUris(req, (na) => {
    const clean = withoutVerstat(na);
    const n = uriUserNumber(clean.uri);
    if (n === undefined || canonicalizeTn(n) === undefined) return clean;
    return { ...clean, uri: withUserParam(clean.uri, 'verstat', verstat) };
  });
}

/**
 * Remove every `verstat` from From and P-Asserted-Identity, wherever it is written: a user-part parameter
 * (`sip:+1...;verstat=X@host`), a URI parameter (`sip:+1...@host;verstat=X`), a tel URI parameter, or a header
 * parameter (`<sip:...>;verstat=X`). Costs one substring test per header when there is none.
 */
export function removeVerstat(req: SipRequest): void {
  rewriteCallingUris(req, withoutVerstat, VERSTAT);
}

function rewriteCallingUris(req: SipRequest, edit: (na: NameAddr) => NameAddr, onlyIf?: RegExp): void {
  let changed = false;
  for (let i = 0; i < req.headers.length; i++) {
    const h = req.headers[i]!;
    if (!CALLING_HEADERS.has(h.name)) continue;
    if (onlyIf !== undefined && !onlyIf.test(h.value)) continue;
    // From is one name-addr (RFC 3261 §20.20); PAI may list two (RFC 3325 §9.1).
    const values = h.name === 'from' ? [h.value] : splitHeaderValues(h.value);
    const rewritten = values.map((v) => formatNameAddr(edit(parseNameAddr(v))));
    req.headers[i] = { ...h, value: rewritten.join(', ') };
    changed = true;
  }
  if (changed) req.invalidate();
}

function withoutVerstat(na: NameAddr): NameAddr {
  // The user part of a sip/sips URI, or a tel URI's parameters (RFC 3966 §3).
  let uri = withoutUserParam(na.uri, 'verstat');
  // A uri-parameter (RFC 3261 §19.1.1): `sip:+1...@host;user=phone;verstat=X`.
  if (isSipUri(uri) && uri.params.has('verstat')) {
    const next = { ...uri, params: without(uri.params, 'verstat') };
    uri = { ...next, raw: formatUri(next) };
  }
  // A header parameter (RFC 3261 §20.20): `<sip:...>;verstat=X`.
  const params = na.params.has('verstat') ? without(na.params, 'verstat') : na.params;
  return { ...na, uri, params };
}

function without(params: Params, name: string): Params {
  const out: Params = new Map(params);
  out.delete(name);
  return out;
}
