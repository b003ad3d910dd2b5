/**
 * PASSporT with the SHAKEN extension (RFC 8225, RFC 8588, ATIS-1000074 §5.2): types, the canonical JSON
 * the authentication service signs, and the JWS split/decode the verification service starts from.
 *
 * Encoding (RFC 8225 §9 deterministic JSON): members in lexicographic order, no white space, no line
 * breaks, exactly the members below. Some verifiers rebuild the JSON from SIP and compare bytes, so the
 * serialisation is written out by hand (JSON.stringify only escapes string values) and never depends on
 * object key order.
 */
import { b64urlDecode, b64urlEncode, isB64url } from './base64url.js';

/** RFC 8588 §4 `attest`: full, partial, gateway attestation (ATIS-1000074 §5.2.3). */
export type Attestation = 'A' | 'B' | 'C';

/** RFC 8225 §4 + RFC 8588 §3: the protected header of a SHAKEN PASSporT. */
export interface PassportHeader {
  readonly alg: 'ES256';
  readonly ppt: 'shaken';
  readonly typ: 'passport';
  readonly x5u: string;
}

/** RFC 8225 §5 + RFC 8588 §4 claims, TNs canonical (E.164 digits, no `+`). */
export interface ShakenClaims {
  readonly attest: Attestation;
  readonly dest: { readonly tn: readonly string[] };
  /** Integer seconds since the epoch (RFC 8225 §5.1.1 NumericDate, never a string). */
  readonly iat: number;
  readonly orig: { readonly tn: string };
  /** ATIS-1000074 §5.2.4 / RFC 8588 §4: UUID naming the origination point, for traceback. */
  readonly origid: string;
}

/** `{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":...}` */
export function encodeHeader(h: PassportHeader): string {
  return '{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":' + JSON.stringify(h.x5u) + '}';
}

/** `{"attest":..,"dest":{"tn":[..]},"iat":..,"orig":{"tn":..},"origid":..}`; throws on a non-integer iat. */
export function encodeClaims(c: ShakenClaims): string {
  // RFC 8225 §5.1.1: iat is a NumericDate; SHAKEN uses whole seconds. A fraction or a string is a trap.
  if (!Number.isSafeInteger(c.iat)) throw new TypeError('iat must be an integer number of seconds');
  let dest = '';
  for (let i = 0; i < c.dest.tn.length; i++) {
    if (i > 0) dest += ',';
    dest += JSON.stringify(c.dest.tn[i]);
  }
  return (
    '{"attest":' +
    JSON.stringify(c.attest) +
    ',"dest":{"tn":[' +
    dest +
    ']},"iat":' +
    c.iat +
    ',"orig":{"tn":' +
    JSON.stringify(c.orig.tn) +
    '},"origid":' +
    JSON.stringify(c.origid) +
    '}'
  );
}

const headerCache = new Map<string, string>();
const HEADER_CACHE_MAX = 64;

/** base64url of the canonical header for `x5u`; constant per signer, so cached (bounded). */
export function encodedHeaderFor(x5u: string): string {
  let b64 = headerCache.get(x5u);
  if (b64 === undefined) {
    b64 = b64urlEncode(encodeHeader({ alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u }));
    if (headerCache.size >= HEADER_CACHE_MAX) headerCache.clear();
    headerCache.set(x5u, b64);
  }
  return b64;
}

/** RFC 7515 §5.1 step 5: ASCII(BASE64URL(header) || '.' || BASE64URL(payload)). */
export function signingInput(header: PassportHeader, claims: ShakenClaims): string {
  return encodedHeaderFor(header.x5u) + '.' + b64urlEncode(encodeClaims(claims));
}

/** Stable codes for a JWS that cannot be decoded. */
export type JwsDecodeErrorCode =
  /** Not three dot-separated sections, or an empty header/signature section. */
  | 'jws_malformed'
  /** A section is not canonical unpadded base64url (padding, `+`, `/`, white space...). */
  | 'jws_bad_base64url'
  /** Header or payload is not a JSON object. */
  | 'jws_bad_json';

export interface JwsDecodeError {
  readonly ok: false;
  readonly code: JwsDecodeErrorCode;
}

export interface DecodedJws {
  readonly ok: true;
  readonly headerB64: string;
  /** Empty in the compact form (RFC 8224 §4.1, RFC 8225 §7): the payload is rebuilt from SIP. */
  readonly payloadB64: string;
  readonly signatureB64: string;
  /** Parsed header JSON object; shape unchecked (the verifier checks alg/ppt/typ/x5u). */
  readonly header: Record<string, unknown>;
  /** Parsed payload JSON object; `undefined` in the compact form. */
  readonly payload: Record<string, unknown> | undefined;
  /** Raw signature bytes (64 bytes r||s for ES256, RFC 7518 §3.4); length unchecked here. */
  readonly signature: Buffer;
  /** `headerB64 + '.' + payloadB64`: the bytes received, which are what the signature covers. */
  readonly signingInput: string;
  readonly compact: boolean;
}

const MALFORMED: JwsDecodeError = { ok: false, code: 'jws_malformed' };
const BAD_B64: JwsDecodeError = { ok: false, code: 'jws_bad_base64url' };
const BAD_JSON: JwsDecodeError = { ok: false, code: 'jws_bad_json' };

function parseObject(b64: string): Record<string, unknown> | undefined | 'bad_b64' {
  const bytes = b64urlDecode(b64);
  if (!bytes) return 'bad_b64';
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Split and decode a JWS compact serialisation (RFC 7515 §7.1). Never throws. The signature is checked
 * later over `signingInput` exactly as received (never over re-serialised JSON). In the compact form
 * (`header..signature`) `payload` is `undefined` and the caller rebuilds the payload and the signing input.
 */
export function decodeJws(token: string): DecodedJws | JwsDecodeError {
  const d1 = token.indexOf('.');
  if (d1 <= 0) return MALFORMED;
  const d2 = token.indexOf('.', d1 + 1);
  if (d2 < 0 || d2 === token.length - 1 || token.indexOf('.', d2 + 1) >= 0) return MALFORMED;
  const headerB64 = token.slice(0, d1);
  const payloadB64 = token.slice(d1 + 1, d2);
  const signatureB64 = token.slice(d2 + 1);
  if (!isB64url(signatureB64)) return BAD_B64;
  const header = parseObject(headerB64);
  if (header === 'bad_b64') return BAD_B64;
  if (header === undefined) return BAD_JSON;
  const compact = payloadB64.length === 0;
  let payload: Record<string, unknown> | undefined;
  if (!compact) {
    const p = parseObject(payloadB64);
    if (p === 'bad_b64') return BAD_B64;
    if (p === undefined) return BAD_JSON;
    payload = p;
  }
  return {
    ok: true,
    headerB64,
    payloadB64,
    signatureB64,
    header,
    payload,
    signature: Buffer.from(signatureB64, 'base64url'),
    signingInput: token.slice(0, d2),
    compact,
  };
}
