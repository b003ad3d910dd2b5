/**
 * A traceback request's Identity header, pasted: which call on record carried it (docs/traceback.md).
 *
 * 1. Take the PASSporT out of the text: an Identity header field value, or a whole SIP message (or a block of
 *    its header lines) with one or more `Identity` / `y` header fields (RFC 8224 §4.1), of which the
 *    `ppt=shaken` one is used, as the verifier does (RFC 8588 §6; several PASSporTs may travel together, RFC
 *    8224 §4).
 * 2. Decode it without verifying (src/stir/ppt/): a forged or expired PASSporT is exactly what gets traced.
 * 3. Look it up by its digest and iat (a PASSporT we signed: src/stir/ppt/digest.ts), and when nothing
 *    matches by its claims, origid + iat + canonical numbers (src/stir/tn.ts), for a PASSporT we verified or passed through.
 *
 * The answer says which: `digest`, `claims` or `none`, always with the decoded PASSporT. Text that holds no
 * readable PASSporT is an error value with a stable code, never an exception.
 */
import { StirgateError } from '../errors.js';
import { selectShakenIdentity, splitIdentityValues } from '../stir/identity-header.js';
import {
  type DecodedPassport,
  decodeParsedIdentity,
  decodePassport,
  PptDecodeError,
  type PptDecodeErrorCode,
  passportDigest,
  type ShakenClaimsAsSent,
  shakenClaims,
} from '../stir/ppt/index.js';
import { canonicalizeTn } from '../stir/tn.js';
import type { TracebackRecord } from './record.js';
import type { TracebackStore } from './store.js';

/**
 * `no_identity`: a SIP message without an Identity header field; `no_shaken_identity`: Identity header fields,
 * none of them `ppt=shaken`; the others: the PASSporT itself (src/stir/ppt/decode-passport.ts).
 */
export type IdentityInputErrorCode = PptDecodeErrorCode | 'no_identity' | 'no_shaken_identity';

export class IdentityInputError extends StirgateError<IdentityInputErrorCode> {
  readonly path: string | undefined;

  constructor(code: IdentityInputErrorCode, message: string, path?: string) {
    super(code, message);
    this.path = path;
  }
}

export type IdentityMatch = 'digest' | 'claims' | 'none';

export interface IdentityLookupResult {
  readonly matchedBy: IdentityMatch;
  readonly passport: DecodedPassport;
  /** SHA-256 of the PASSporT as received, base64url. */
  readonly digest: string;
  /** The SHAKEN claims, when the PASSporT has them all. */
  readonly claims: ShakenClaimsAsSent | undefined;
  /** Why the claims could not be searched by (compact form, a claim missing), when the digest matched nothing. */
  readonly unsearchable: PptDecodeError | undefined;
  readonly records: readonly TracebackRecord[];
  readonly truncated: boolean;
}

/** Look up the call that carried the PASSporT in `text`; an `IdentityInputError` when there is none to read. */
export async function lookupIdentity(
  text: string,
  store: Pick<TracebackStore, 'query'>,
  limit: number,
): Promise<IdentityLookupResult | IdentityInputError> {
  const passport = passportIn(text);
  if (passport instanceof IdentityInputError) return passport;
  const digest = passportDigest(passport.token);
  const claims = shakenClaims(passport);
  const usable = claims instanceof PptDecodeError ? undefined : claims;
  const base = { passport, digest, claims: usable };
  // The store finds a digest under its iat (src/traceback/store.ts); a PASSporT without one is not ours.
  const iat = passport.claims?.iat;
  if (typeof iat === 'number' && Number.isFinite(iat)) {
    const byDigest = await store.query({ by: 'digest', digest, iat, limit });
    if (byDigest.records.length > 0)
      return { ...base, unsearchable: undefined, matchedBy: 'digest', ...byDigest };
  }
  if (claims instanceof PptDecodeError) {
    return { ...base, unsearchable: claims, matchedBy: 'none', records: [], truncated: false };
  }
  const orig = canonicalizeTn(claims.orig);
  const dest = claims.dest[0] === undefined ? undefined : canonicalizeTn(claims.dest[0]);
  const byClaims = await store.query({
    by: 'passport',
    origid: claims.origid,
    iat: claims.iat,
    ...(orig !== undefined ? { orig } : {}),
    ...(dest !== undefined ? { dest } : {}),
    limit,
  });
  const matchedBy = byClaims.records.length > 0 ? 'claims' : 'none';
  return { ...base, unsearchable: undefined, matchedBy, ...byClaims };
}

/** The PASSporT `text` carries: a header field value, or the SHAKEN one of a SIP message's Identity fields. */
export function passportIn(text: string): DecodedPassport | IdentityInputError {
  const lines = text.split(/\r?\n/);
  const fields = identityFields(lines);
  if (fields === undefined) return asInputError(decodePassport(unfold(text)));
  const values = fields.flatMap((f) => splitIdentityValues(f)).filter((v) => v.trim().length > 0);
  if (values.length === 0) {
    return new IdentityInputError(
      'no_identity',
      'the SIP message has no Identity header field (RFC 8224 §4.1)',
    );
  }
  if (values.length === 1) return asInputError(decodePassport(values[0]!));
  const picked = selectShakenIdentity(values);
  if (picked === undefined) {
    return new IdentityInputError(
      'no_shaken_identity',
      `none of the ${values.length} Identity header fields is ppt=shaken (RFC 8588 §6)`,
    );
  }
  if (picked !== 'malformed') return asInputError(decodeParsedIdentity(picked));
  // No SHAKEN value was found and one could not be parsed: say what is wrong with the first such value.
  for (const v of values) {
    const d = decodePassport(v);
    if (d instanceof PptDecodeError) return asInputError(d);
  }
  return new IdentityInputError('no_shaken_identity', 'no Identity header field is ppt=shaken (RFC 8588 §6)');
}

const START_LINE = /^(?:[A-Z]+ \S+ SIP\/2\.0|SIP\/2\.0 \d{3}\b)/;
const IDENTITY_FIELD = /^(?:identity|y)[ \t]*:/i;

/**
 * The Identity header field values of a SIP message (RFC 3261 §7.3: header lines up to the first empty line,
 * continuation lines folded in), or `undefined` when the text is not a message or header lines but a value.
 */
function identityFields(lines: readonly string[]): string[] | undefined {
  const first = lines.findIndex((l) => l.trim().length > 0);
  if (first < 0) return undefined;
  const isMessage = START_LINE.test(lines[first]!.trim()) || lines.some((l) => IDENTITY_FIELD.test(l));
  if (!isMessage) return undefined;
  const out: string[] = [];
  let current: string | undefined;
  for (let i = first; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim().length === 0) break; // the body starts (RFC 3261 §7)
    if ((line[0] === ' ' || line[0] === '\t') && current !== undefined) {
      current += ` ${line.trim()}`; // RFC 3261 §7.3.1 line folding
      continue;
    }
    if (current !== undefined) out.push(current);
    current = IDENTITY_FIELD.test(line) ? line.slice(line.indexOf(':') + 1) : undefined;
  }
  if (current !== undefined) out.push(current);
  return out;
}

/** A value pasted over several lines (a mail client wrapped it): line breaks and their indentation go. */
function unfold(text: string): string {
  return text.replace(/[ \t]*\r?\n[ \t]*/g, '');
}

function asInputError<T>(v: T | PptDecodeError): T | IdentityInputError {
  return v instanceof PptDecodeError ? new IdentityInputError(v.code, v.message, v.path) : v;
}
