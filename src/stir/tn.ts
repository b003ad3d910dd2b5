/**
 * Telephone-number canonicalisation for PASSporT `orig.tn` / `dest.tn` and for comparing a PASSporT with
 * the SIP request (RFC 8224 §8.3, RFC 8225 §5.2.1, ATIS-1000074 §5.3.1).
 *
 * The input is a number already taken out of a URI (the user part of a `sip:`/`sips:` URI or the number of
 * a `tel:` URI); this module never sees SIP. Output: E.164 digits without `+` and without visual separators.
 *
 * Rules, in order:
 * 1. Trim white space; drop URI parameters after the first `;` (RFC 3966 §3 `par`, e.g. `;npdi`, `;rn=`,
 *    `;phone-context=`), which are never part of the number.
 * 2. A leading `+` (or its escape `%2B`) marks a global number (RFC 3966 §5.1.4): it is already E.164.
 * 3. Remove visual separators `-` `.` `(` `)` (RFC 3966 §3 `visual-separator`) and spaces.
 * 4. Anything left that is not a digit (letters as in `alice`, `*`, `#`, `anonymous`) -> `undefined`:
 *    there is no telephone number to sign or compare.
 * 5. A number without `+` is national or already E.164 without `+` (RFC 8224 §8.3 leaves national
 *    conversion to local policy). With a configured `countryCode`:
 *    - NANP (`1`): 10 digits -> prefix `1`; 11 digits starting with `1` -> kept; other lengths kept.
 *    - other codes: one leading `0` (national trunk prefix) -> replaced by the country code; a leading
 *      `00` (ITU-T E.164 international prefix) -> removed; anything else kept as is.
 *    Without `countryCode` the digits are kept as is.
 * 6. Accept 1..15 digits (ITU-T E.164 §6 maximum). No lower bound beyond 1 and no per-country length
 *    check: STIR-NOTES lists overly strict E.164 limits as an interop trap.
 *
 * Idempotent: a canonical number canonicalises to itself under the same options.
 */

export interface TnOptions {
  /** E.164 country code (digits, no `+`) used to globalise national numbers, e.g. `1` for NANP. */
  readonly countryCode?: string;
}

/** ITU-T E.164 §6: at most 15 digits including the country code. */
export const MAX_TN_DIGITS = 15;

/** Canonical E.164 digits for `raw`, or `undefined` when `raw` is not a usable telephone number. */
export function canonicalizeTn(raw: string, opts?: TnOptions): string | undefined {
  let s = raw;
  const semi = s.indexOf(';');
  if (semi >= 0) s = s.slice(0, semi);
  s = s.trim();
  let global = false;
  if (s.charCodeAt(0) === 43 /* + */) {
    global = true;
    s = s.slice(1);
  } else if (
    s.length >= 3 &&
    s.charCodeAt(0) === 37 /* % */ &&
    s[1] === '2' &&
    (s[2] === 'B' || s[2] === 'b')
  ) {
    global = true;
    s = s.slice(3);
  }
  let digits = '';
  let plain = true; // fast path: no separators seen, `digits` is a slice of s
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (!plain) digits += s[i];
      continue;
    }
    // RFC 3966 §3 visual-separator, plus space (ATIS-1000074 §5.3.1: remove visual separators).
    if (c === 45 || c === 46 || c === 40 || c === 41 || c === 32 || c === 9) {
      if (plain) {
        digits = s.slice(0, i);
        plain = false;
      }
      continue;
    }
    return undefined;
  }
  if (plain) digits = s;
  if (digits.length === 0) return undefined;
  if (!global && opts?.countryCode) digits = globalise(digits, opts.countryCode);
  if (digits.length > MAX_TN_DIGITS) return undefined;
  return digits;
}

/** RFC 8224 §8.3: national-to-E.164 conversion is local policy; these are the rules documented above. */
function globalise(digits: string, cc: string): string {
  if (cc === '1') {
    // NANP (ATIS-1000074 §5.3.1): NPA-NXX-XXXX is 10 digits; 1+10 is already E.164.
    // GAP(ATIS-1000074 §5.3.1): 10 digits starting with 1 are not a valid NPA; prefixed anyway (lenient).
    if (digits.length === 10) return '1' + digits;
    return digits;
  }
  if (digits.startsWith('00')) return digits.slice(2);
  if (digits.charCodeAt(0) === 48 /* 0 */) return cc + digits.slice(1);
  return digits;
}

/** One documented row of the canonicalisation table (tests and docs read this). */
export interface TnExample {
  readonly input: string;
  readonly countryCode?: string;
  readonly expected: string | undefined;
  readonly why: string;
}

/** The canonicalisation table: every rule above with an example. */
export const TN_CANONICALIZATION_TABLE: readonly TnExample[] = [
  { input: '+12025550100', expected: '12025550100', why: 'global number: drop +' },
  { input: '+1-202-555-0100', expected: '12025550100', why: 'global with visual separators' },
  { input: '+1 (202) 555.0100', expected: '12025550100', why: 'spaces, parentheses, dots' },
  { input: '%2B12025550100', expected: '12025550100', why: 'escaped +' },
  { input: ' +12025550100 ', expected: '12025550100', why: 'surrounding white space' },
  { input: '+12025550100;npdi;rn=+12025550000', expected: '12025550100', why: 'URI parameters dropped' },
  { input: '2025550100', countryCode: '1', expected: '12025550100', why: 'NANP national 10 digits' },
  { input: '(202) 555-0100', countryCode: '1', expected: '12025550100', why: 'NANP national formatted' },
  { input: '12025550100', countryCode: '1', expected: '12025550100', why: 'NANP 11 digits kept' },
  { input: '5550100', countryCode: '1', expected: '5550100', why: 'other lengths kept (lenient)' },
  { input: '2025550100', expected: '2025550100', why: 'no country code configured: kept' },
  { input: '03012345678', countryCode: '49', expected: '493012345678', why: 'trunk prefix 0 replaced' },
  { input: '00442071234567', countryCode: '49', expected: '442071234567', why: 'international prefix 00' },
  { input: '+442071234567', countryCode: '1', expected: '442071234567', why: 'global ignores country code' },
  { input: '493012345678', countryCode: '49', expected: '493012345678', why: 'E.164 without + kept' },
  { input: '+123456789012345', expected: '123456789012345', why: '15 digits: E.164 maximum' },
  { input: '+1234567890123456', expected: undefined, why: '16 digits: too long' },
  { input: '+7', expected: '7', why: 'short numbers accepted (no lower bound)' },
  { input: '911', countryCode: '1', expected: '911', why: 'service code kept' },
  { input: 'alice', expected: undefined, why: 'alphanumeric user part' },
  { input: 'anonymous', countryCode: '1', expected: undefined, why: 'anonymous' },
  { input: '+1202555010a', expected: undefined, why: 'letter among digits' },
  { input: '*67', expected: undefined, why: '* is not an E.164 digit' },
  { input: '', expected: undefined, why: 'empty' },
  { input: '+', expected: undefined, why: 'bare +' },
  { input: '---', expected: undefined, why: 'separators only' },
  { input: '++12025550100', expected: undefined, why: 'double +' },
];
