/**
 * PASSporT types (RFC 8225 §8.1 `ppt`) over one JWS decode: decoding without verifying, the digest a record is
 * found by, and one module per extension's claims (`shaken` now; `div` RFC 8946 and `rcd` RFC 9795 later).
 */
export {
  type DecodedPassport,
  decodeParsedIdentity,
  decodePassport,
  PptDecodeError,
  type PptDecodeErrorCode,
} from './decode-passport.js';
export { passportDigest } from './digest.js';
export { type ShakenClaimsAsSent, shakenClaims } from './shaken.js';
