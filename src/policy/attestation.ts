import { StirgateError } from '../errors.js';
/**
 * Attestation level for an outbound call (RFC 8588 §4 `attest`, ATIS-1000074 §5.2.3). Pure functions:
 * the caller says who the customer is (from the trunk profile) and passes the canonical calling number
 * (src/stir/tn.ts); nothing here reads SIP or configuration files.
 *
 * Rule table, first matching row wins:
 *
 * | # | ingress is a gateway | customer known | calling number          | result                          |
 * |---|----------------------|----------------|-------------------------|---------------------------------|
 * | 1 | any                  | any            | none usable             | no signature, `no_calling_number` |
 * | 2 | yes                  | any            | usable                  | sign, C (gateway attestation)   |
 * | 3 | no                   | no             | usable                  | no signature, `unknown_customer`  |
 * | 4 | no                   | yes            | in the customer's set   | sign, A (full attestation)      |
 * | 5 | no                   | yes            | usable, not in the set  | sign, B (partial attestation)   |
 *
 * - Row 1: a PASSporT needs `orig.tn` (RFC 8225 §5.2.1); an alphanumeric or anonymous caller has none, so
 *   the call is forwarded unsigned and counted. "Unknown calling numbers from known customers get B"
 *   (STIR-NOTES) means numbers that exist but are not proven to be the customer's: row 5.
 * - Row 2: ATIS-1000074 §5.2.3 (c): the signer is the entry point of the call into its network but has
 *   no relationship with the initiator (e.g. international or unsigned peer gateways).
 * - Row 3: ATIS-1000074 §5.2.3 leaves no level for a call from nobody known on a non-gateway trunk;
 *   signing it would vouch for an unknown source.
 * - Row 4: ATIS-1000074 §5.2.3 (a): the provider authenticated the customer and the customer is
 *   authorised to use the calling number.
 * - Row 5: ATIS-1000074 §5.2.3 (b): the customer is authenticated, the right to the number is not
 *   established.
 */
import type { Attestation } from '../stir/passport.js';
import { canonicalizeTn, type TnOptions } from '../stir/tn.js';

/**
 * Configured number entries of a customer: single numbers (`+1 202 555 0100`), ranges `from-to` of the
 * same length (`12025550100-12025550199`), and prefixes in E.164 form (`1202555*`, `+1202555*`).
 * Numbers and range ends are canonicalised like calling numbers (same country code), so `+1-202-...`
 * and `1202...` are the same entry; prefixes are taken as written (no national conversion).
 */
export type CustomerNumbers = readonly string[];

export interface NumberSet {
  /** True when canonical number `tn` is one of the set's numbers. */
  has(tn: string): boolean;
  /**
   * The entry that holds `tn`, in canonical form (`12025550100`, `1202555*`, `12025550100-12025550199`),
   * or undefined: what a refusal names (do-not-originate, destinations). Builds a string only for a
   * prefix or range hit.
   */
  match(tn: string): string | undefined;
  readonly size: { readonly singles: number; readonly ranges: number; readonly prefixes: number };
}

export type NumberSetErrorCode = 'bad_number_entry';

/** A number entry that cannot be read; `entry` names it so the config error points at it. */
export class NumberSetError extends StirgateError<NumberSetErrorCode> {
  readonly entry: string;

  constructor(entry: string, message: string) {
    super('bad_number_entry', `number entry ${JSON.stringify(entry)}: ${message}`);
    this.entry = entry;
  }
}

interface Range {
  readonly from: string;
  readonly to: string;
}

/** Compile entries once (at config load); `has` is a Set lookup plus O(log n) per range length. */
export function compileNumberSet(entries: CustomerNumbers, opts?: TnOptions): NumberSet {
  const singles = new Set<string>();
  const prefixes = new Set<string>();
  const rangesByLength = new Map<number, Range[]>();
  for (const entry of entries) {
    const e = entry.trim();
    if (e.endsWith('*')) {
      const p = canonicalizeTn(e.slice(0, -1));
      if (p === undefined) throw new NumberSetError(entry, 'prefix must be digits followed by *');
      prefixes.add(p);
      continue;
    }
    const dash = rangeDash(e);
    if (dash > 0) {
      const from = canonicalizeTn(e.slice(0, dash), opts);
      const to = canonicalizeTn(e.slice(dash + 1), opts);
      if (from === undefined || to === undefined)
        throw new NumberSetError(entry, 'range ends must be numbers');
      if (from.length !== to.length) {
        throw new NumberSetError(
          entry,
          'range ends must have the same length (write a single number without -)',
        );
      }
      if (from > to) throw new NumberSetError(entry, 'range start is after its end');
      let list = rangesByLength.get(from.length);
      if (!list) {
        list = [];
        rangesByLength.set(from.length, list);
      }
      list.push({ from, to });
      continue;
    }
    const tn = canonicalizeTn(e, opts);
    if (tn === undefined) throw new NumberSetError(entry, 'not a telephone number');
    singles.add(tn);
  }
  const prefixLengths = [...new Set([...prefixes].map((p) => p.length))].sort((a, b) => a - b);
  const merged = new Map<number, { from: string[]; to: string[] }>();
  let rangeCount = 0;
  for (const [len, list] of rangesByLength) {
    list.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    const from: string[] = [];
    const to: string[] = [];
    for (const r of list) {
      const last = to.length - 1;
      // Merge overlapping ranges so the binary search sees disjoint, sorted intervals.
      if (last >= 0 && r.from <= to[last]!) {
        if (r.to > to[last]!) to[last] = r.to;
      } else {
        from.push(r.from);
        to.push(r.to);
      }
    }
    rangeCount += from.length;
    merged.set(len, { from, to });
  }
  return {
    size: { singles: singles.size, ranges: rangeCount, prefixes: prefixes.size },
    // Two walks rather than one: `has` (attestation, every signed call) builds no string.
    has(tn: string): boolean {
      if (singles.has(tn)) return true;
      for (const len of prefixLengths) {
        if (len > tn.length) break;
        if (prefixes.has(tn.slice(0, len))) return true;
      }
      const r = merged.get(tn.length);
      return r !== undefined && rangeIndex(r, tn) >= 0;
    },
    match(tn: string): string | undefined {
      if (singles.has(tn)) return tn;
      for (const len of prefixLengths) {
        if (len > tn.length) break;
        const p = tn.slice(0, len);
        if (prefixes.has(p)) return `${p}*`;
      }
      const r = merged.get(tn.length);
      const i = r === undefined ? -1 : rangeIndex(r, tn);
      return i < 0 ? undefined : `${r!.from[i]}-${r!.to[i]}`;
    },
  };
}

/** Index of the range holding `tn` among disjoint sorted ranges of its length, or -1 (binary search). */
function rangeIndex(
  r: { readonly from: readonly string[]; readonly to: readonly string[] },
  tn: string,
): number {
  // Equal-length digit strings compare like the numbers they spell.
  let lo = 0;
  let hi = r.from.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (tn < r.from[mid]!) hi = mid - 1;
    else if (tn > r.to[mid]!) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/**
 * Offset of the `-` of a range entry, or -1. A range is exactly one `-` between two plain numbers (digits,
 * optional leading `+`, optional spaces around the dash): `12025550100-12025550199`. Its ends must have
 * the same length (checked by the caller, so `100-1000` is an error rather than the number 1001000).
 * Entries with more dashes or other separators are single numbers (`+1-202-555-0100`); write a single
 * number that has one dash between two plain digit groups without the dash (`5550100`, not `555-0100`).
 */
function rangeDash(e: string): number {
  const dash = e.indexOf('-');
  if (dash <= 0 || e.indexOf('-', dash + 1) >= 0) return -1;
  return isPlainNumber(e.slice(0, dash).trim()) && isPlainNumber(e.slice(dash + 1).trim()) ? dash : -1;
}

function isPlainNumber(s: string): boolean {
  const start = s.charCodeAt(0) === 43 ? 1 : 0;
  if (s.length <= start) return false;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export interface AttestationInput {
  /** The trunk/customer is authenticated and known to the provider. */
  readonly customerKnown: boolean;
  /** The ingress is a gateway (no relationship with the call initiator). */
  readonly gateway: boolean;
  /** Canonical calling number (canonicalizeTn output), `undefined` when there is no usable number. */
  readonly callingTn: string | undefined;
  /** The customer's numbers (compileNumberSet). */
  readonly numbers: NumberSet;
}

export type AttestationDecision =
  | { readonly sign: true; readonly attest: Attestation }
  | { readonly sign: false; readonly reason: 'unknown_customer' | 'no_calling_number' };

const NO_NUMBER: AttestationDecision = { sign: false, reason: 'no_calling_number' };
const UNKNOWN: AttestationDecision = { sign: false, reason: 'unknown_customer' };
const A: AttestationDecision = { sign: true, attest: 'A' };
const B: AttestationDecision = { sign: true, attest: 'B' };
const C: AttestationDecision = { sign: true, attest: 'C' };

/** Apply the rule table above. */
export function decideAttestation(input: AttestationInput): AttestationDecision {
  const tn = input.callingTn;
  if (tn === undefined || tn.length === 0) return NO_NUMBER; // row 1
  if (input.gateway) return C; // row 2
  if (!input.customerKnown) return UNKNOWN; // row 3
  return input.numbers.has(tn) ? A : B; // rows 4, 5
}

/** An empty NumberSet (customers without configured numbers: every call gets B). */
export const EMPTY_NUMBER_SET: NumberSet = compileNumberSet([]);
