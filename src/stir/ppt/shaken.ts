/**
 * The SHAKEN claims of a decoded PASSporT (RFC 8588 §4, RFC 8225 §5.1-§5.2, ATIS-1000074 §5.2), read as sent:
 * the values are not judged (an `attest` of "Z" or a non-canonical number is what a forged PASSporT may carry,
 * and traceback must still search by it); only their presence and JSON types are required.
 */
import { type DecodedPassport, PptDecodeError } from './decode-passport.js';

export interface ShakenClaimsAsSent {
  readonly attest: string;
  readonly origid: string;
  /** RFC 8225 §5.1.1 NumericDate, seconds. */
  readonly iat: number;
  readonly orig: string;
  readonly dest: readonly string[];
}

/** The SHAKEN claims traceback searches by, or `compact_form` / `claims_missing` (the first missing claim's path). */
export function shakenClaims(p: DecodedPassport): ShakenClaimsAsSent | PptDecodeError {
  const c = p.claims;
  if (c === undefined) {
    return new PptDecodeError(
      'compact_form',
      'the PASSporT is in compact form (RFC 8224 §4.1: payload omitted), so it carries no origid or numbers to search by',
      'payload',
    );
  }
  const orig = c.orig as { tn?: unknown } | null | undefined;
  const dest = c.dest as { tn?: unknown } | null | undefined;
  const origTn = typeof orig === 'object' && orig !== null ? orig.tn : undefined;
  const destTn = typeof dest === 'object' && dest !== null ? dest.tn : undefined;
  // RFC 8588 §4 attest and origid; RFC 8225 §5.1.1 iat, §5.2.1 orig.tn, dest.tn (an array).
  const checks: readonly [string, boolean][] = [
    ['attest', typeof c.attest === 'string'],
    ['origid', typeof c.origid === 'string'],
    ['iat', typeof c.iat === 'number' && Number.isFinite(c.iat)],
    ['orig.tn', typeof origTn === 'string'],
    ['dest.tn', Array.isArray(destTn) && destTn.every((t) => typeof t === 'string')],
  ];
  const missing = checks.filter(([, ok]) => !ok).map(([path]) => path);
  if (missing.length > 0) {
    return new PptDecodeError(
      'claims_missing',
      `the PASSporT lacks SHAKEN claims (RFC 8588 §4, RFC 8225 §5): ${missing.join(', ')}`,
      `payload.${missing[0]}`,
    );
  }
  return {
    attest: c.attest as string,
    origid: c.origid as string,
    iat: c.iat as number,
    orig: origTn as string,
    dest: destTn as string[],
  };
}
