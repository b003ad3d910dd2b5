import { createHash } from 'node:crypto';

/**
 * SHA-256 of a PASSporT's JWS compact serialisation (`header.payload.signature`, exactly as sent), base64url:
 * how a traceback record names the PASSporT we signed, and how a pasted Identity header finds it again.
 */
export function passportDigest(jws: string): string {
  return createHash('sha256').update(jws).digest('base64url');
}
