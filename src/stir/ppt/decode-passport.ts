/**
 * Decoding a PASSporT out of an Identity header field value WITHOUT verifying it (RFC 8224 §4.1, RFC 8225 §4-§7):
 * traceback has to read forged, expired and foreign PASSporTs too, so nothing here checks a signature, a
 * certificate, `alg`, freshness or the claims' values. Any `ppt` decodes (`shaken`, `div`, `rcd`); the
 * extension's claims are read by its own module (./shaken.ts).
 *
 * Total: every input gives a `DecodedPassport` or a `PptDecodeError` value with a stable code, never an exception.
 */
import { StirgateError } from '../../errors.js';
import { type ParsedIdentity, parseIdentityHeader } from '../identity-header.js';
import { decodeJws, type JwsDecodeErrorCode } from '../passport.js';

/**
 * Why a pasted value is not a readable PASSporT. `not_identity_header`: no PASSporT token at all, or stray text
 * after it; the `jws_*` codes are those of the verifier's decoder (src/stir/passport.ts); `compact_form`: the
 * payload was omitted (RFC 8224 §4.1), so there are no claims to read; `claims_missing`: a claim the extension
 * requires is absent or of the wrong JSON type (`path` names it).
 */
export type PptDecodeErrorCode =
  | 'not_identity_header'
  | JwsDecodeErrorCode
  | 'compact_form'
  | 'claims_missing';

export class PptDecodeError extends StirgateError<PptDecodeErrorCode> {
  /** The claim or part at fault, when one (`payload.origid`, `payload.orig.tn`). */
  readonly path: string | undefined;

  constructor(code: PptDecodeErrorCode, message: string, path?: string) {
    super(code, message);
    this.path = path;
  }
}

export interface DecodedPassport {
  /** The JWS compact serialisation as received (`header.payload.signature`): what the digest is taken of. */
  readonly token: string;
  /** RFC 8224 §4.1 compact form: the payload section is empty, the claims travel in the SIP request. */
  readonly compactForm: boolean;
  /** `info` parameter without angle brackets (the x5u URL the sender advertised), when present. */
  readonly info: string | undefined;
  /** The other header field parameters (`alg`, `ppt`, extensions), names lower-cased. */
  readonly params: Readonly<Record<string, string>>;
  /** The JWS protected header as sent (RFC 8225 §4: `alg`, `ppt`, `typ`, `x5u`), unchecked. */
  readonly header: Readonly<Record<string, unknown>>;
  /** The payload as sent; `undefined` in the compact form. */
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  /** The PASSporT type: the header field's `ppt` parameter, else the JWS header's (RFC 8225 §8.1). */
  readonly ppt: string | undefined;
}

const JWS_MESSAGES: Record<JwsDecodeErrorCode, string> = {
  jws_malformed:
    'the PASSporT is not a JWS compact serialisation (RFC 7515 §7.1: three base64url sections separated by dots, header and signature not empty)',
  jws_bad_base64url: 'a section of the PASSporT is not unpadded base64url (RFC 7515 §2)',
  jws_bad_json: 'the PASSporT header or payload is not a JSON object (RFC 8225 §4, §5)',
};

/** Decode one Identity header field value (full form `<jws>;info=<...>;alg=...;ppt=...`, or a bare JWS). */
export function decodePassport(value: string): DecodedPassport | PptDecodeError {
  const parsed = parseIdentityHeader(value);
  if (!('error' in parsed)) return decodeParsedIdentity(parsed);
  return classifyUnparsable(value);
}

/** Decode a value the Identity parser already split (e.g. the one `selectShakenIdentity` picked). */
export function decodeParsedIdentity(p: ParsedIdentity): DecodedPassport | PptDecodeError {
  const jws = decodeJws(p.token);
  if (!jws.ok) return new PptDecodeError(jws.code, JWS_MESSAGES[jws.code], 'token');
  const params: Record<string, string> = {};
  for (const [k, v] of p.params) params[k] = v;
  const headerPpt = typeof jws.header.ppt === 'string' ? jws.header.ppt : undefined;
  return {
    token: p.token,
    compactForm: jws.compact,
    info: p.info,
    params,
    header: jws.header,
    claims: jws.payload,
    ppt: p.params.get('ppt') ?? headerPpt,
  };
}

/**
 * The Identity parser only says `malformed`; a person pasting needs to know which part is wrong. The token is
 * the text up to the first `;` or white space: no dot in it means this is not a PASSporT at all; otherwise the
 * JWS decoder names the fault, and a token that decodes means the parameters after it are at fault.
 */
function classifyUnparsable(value: string): PptDecodeError {
  const text = value.trim();
  const token = /^[^;\s]*/.exec(text)?.[0] ?? '';
  if (!token.includes('.')) {
    return new PptDecodeError(
      'not_identity_header',
      'not an Identity header value (RFC 8224 §4.1): expected a PASSporT (base64url sections separated by dots) followed by ;info=<...>',
    );
  }
  const jws = decodeJws(token);
  if (!jws.ok) return new PptDecodeError(jws.code, JWS_MESSAGES[jws.code], 'token');
  return new PptDecodeError(
    'not_identity_header',
    'the text after the PASSporT is not Identity header parameters (RFC 8224 §4.1: ;info=<url>;alg=...;ppt=...)',
    'params',
  );
}
