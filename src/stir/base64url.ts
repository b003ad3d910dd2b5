/**
 * base64url without padding (RFC 7515 §2, RFC 4648 §5), the encoding of all three JWS sections in a
 * PASSporT (RFC 8225 §6). Decoding is strict: Node's decoder silently skips foreign characters, so the
 * alphabet, the length and the unused trailing bits are checked here first.
 */

/** Encode bytes (or a UTF-8 string) as base64url without padding. */
export function b64urlEncode(data: Uint8Array | string): string {
  return (
    typeof data === 'string'
      ? Buffer.from(data, 'utf8')
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  ).toString('base64url');
}

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** Value of a base64url character, or -1. */
function charValue(c: number): number {
  if (c >= 65 && c <= 90) return c - 65; // A-Z
  if (c >= 97 && c <= 122) return c - 71; // a-z
  if (c >= 48 && c <= 57) return c + 4; // 0-9
  if (c === 45) return 62; // -
  if (c === 95) return 63; // _
  return -1;
}

/**
 * True when `text` is canonical unpadded base64url: only `A-Z a-z 0-9 - _`, no `=`, `+`, `/` or white
 * space, a length that is not 1 mod 4, and zero bits in the unused tail of the last character
 * (RFC 4648 §3.5 canonical encoding), so one byte string has exactly one accepted encoding.
 */
export function isB64url(text: string): boolean {
  const n = text.length;
  const rem = n & 3;
  if (rem === 1) return false;
  if (!ALPHABET.test(text)) return false;
  if (rem !== 0) {
    const last = charValue(text.charCodeAt(n - 1));
    // 2 chars carry 8 bits (4 spare), 3 chars carry 16 bits (2 spare).
    if ((rem === 2 && (last & 0x0f) !== 0) || (rem === 3 && (last & 0x03) !== 0)) return false;
  }
  return true;
}

/** Decode strict unpadded base64url; `undefined` when `text` is not canonical base64url (see isB64url). */
export function b64urlDecode(text: string): Buffer | undefined {
  if (!isB64url(text)) return undefined;
  return Buffer.from(text, 'base64url');
}
