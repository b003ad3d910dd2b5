import type { DestinationsConfig } from '../config/types.js';
import { compileNumberSet, type NumberSet } from './attestation.js';

/**
 * Destination permissions of a customer (issue 17, "Customer protections"): destinations rarely called
 * legitimately (premium-rate, revenue-share, high-cost ranges) are off unless the customer is allowed them.
 * Rules, first match wins, on the canonical called number:
 *
 * | # | called number                                       | result                                  |
 * |---|-----------------------------------------------------|-----------------------------------------|
 * | 1 | under one of the customer's `deny` prefixes         | refused, detail the prefix (`1900*`)    |
 * | 2 | under a class the customer does not list in `classes` | refused, detail the class name        |
 * | 3 | `allow` is non-empty and the number is under none   | refused, detail `allow_list`            |
 * | 4 | otherwise                                           | allowed                                 |
 *
 * A called number that is not a telephone number (`sip:alice@...`) matches no prefix: only row 3 can
 * refuse it.
 */

export interface DestinationPolicy {
  readonly deny: NumberSet;
  /** Undefined: no allow list (any destination not denied). */
  readonly allow: NumberSet | undefined;
  /** The classes this customer may not call. */
  readonly deniedClasses: readonly { readonly name: string; readonly prefixes: NumberSet }[];
}

export type DestinationDecision =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** The denied prefix (`1900*`), the class name, or `allow_list`. */
      readonly detail: string;
    };

const ALLOWED: DestinationDecision = Object.freeze({ ok: true });
const NOT_IN_ALLOW_LIST: DestinationDecision = Object.freeze({ ok: false, detail: 'allow_list' });

/** Compile once per configuration: the customer's lists and every class it does not list. */
export function compileDestinationPolicy(
  dest: DestinationsConfig,
  classes: Readonly<Record<string, readonly string[]>>,
): DestinationPolicy {
  const listed = new Set(dest.classes);
  return {
    deny: compileNumberSet(dest.deny.map(asPrefix)),
    allow: dest.allow.length === 0 ? undefined : compileNumberSet(dest.allow.map(asPrefix)),
    deniedClasses: Object.entries(classes)
      .filter(([name, prefixes]) => !listed.has(name) && prefixes.length > 0)
      .map(([name, prefixes]) => ({ name, prefixes: compileNumberSet(prefixes.map(asPrefix)) })),
  };
}

/** Apply the rule table above to canonical called number `tn`. */
export function decideDestination(tn: string | undefined, p: DestinationPolicy): DestinationDecision {
  if (tn !== undefined) {
    const denied = p.deny.match(tn);
    if (denied !== undefined) return { ok: false, detail: denied }; // row 1
    for (const c of p.deniedClasses) if (c.prefixes.has(tn)) return { ok: false, detail: c.name }; // row 2
  }
  if (p.allow !== undefined && (tn === undefined || !p.allow.has(tn))) return NOT_IN_ALLOW_LIST; // row 3
  return ALLOWED; // row 4
}

function asPrefix(digits: string): string {
  return `${digits}*`;
}
