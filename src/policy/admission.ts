import type { NumberSet } from './attestation.js';
import { type BlockIndex, type BlockKeys, findBlock } from './block-index.js';
import type { Block } from './controls.js';
import { type DestinationPolicy, decideDestination } from './destinations.js';
import { dnoEntry } from './dno.js';
import { type EmergencyNumbers, isEmergencyNumber } from './emergency.js';

/**
 * Whether a call may go on, before signing (originating trunks) or around verification (terminating
 * trunks): the pure part of admission (issue 17). Rule table, first matching row wins:
 *
 * | # | the call                                                   | result                                 |
 * |---|------------------------------------------------------------|----------------------------------------|
 * | 1 | to an emergency number (src/policy/emergency.ts)           | `emergency`: passes every rule below   |
 * | 2 | matches an unexpired `reject` block on any of its keys     | refused, `block` (the block)           |
 * | 3 | calling number in the do-not-originate list (47 CFR 64.1200(o)) | refused, `dno` (the entry)        |
 * | 4 | destination not permitted (src/policy/destinations.ts)     | refused, `destination` (why)           |
 * | 5 | otherwise                                                  | `admit`, with the first `mark` block   |
 *
 * Row 1: emergency calls are never refused by a limit or a block (47 CFR 9.4; EU 2018/1972 Art. 109).
 * Rows 2-4 apply only where given: a terminating trunk has no DNO list or destinations. The limits come
 * after row 5 (src/b2bua/admission-hook.ts): they take a token, so they are counted only for a call every
 * other rule let through.
 */

export interface AdmissionInput {
  /** Canonical numbers (src/stir/tn.ts with the trunk's country code); undefined: none usable. */
  readonly callingTn: string | undefined;
  readonly calledTn: string | undefined;
  readonly countryCode: string;
  /** The block keys this check looks at (a hook passes those of its trunk role). */
  readonly keys: BlockKeys;
  readonly emergency: EmergencyNumbers;
  readonly blocks: BlockIndex;
  readonly dno?: NumberSet;
  readonly destinations?: DestinationPolicy;
  readonly nowMs: number;
}

export type AdmissionRefusal =
  | { readonly cause: 'block'; readonly block: Block }
  | { readonly cause: 'dno'; readonly entry: string }
  | { readonly cause: 'destination'; readonly detail: string };

export type AdmissionDecision =
  | { readonly action: 'emergency' }
  | { readonly action: 'refuse'; readonly refusal: AdmissionRefusal }
  | { readonly action: 'admit'; readonly mark: Block | undefined };

const EMERGENCY: AdmissionDecision = Object.freeze({ action: 'emergency' });
const ADMIT: AdmissionDecision = Object.freeze({ action: 'admit', mark: undefined });

/** Apply the rule table above. */
export function decideAdmission(input: AdmissionInput): AdmissionDecision {
  if (isEmergencyNumber(input.calledTn, input.emergency, input.countryCode)) return EMERGENCY; // row 1
  const rejected = findBlock(input.blocks, input.keys, 'reject', input.nowMs);
  if (rejected !== undefined) return { action: 'refuse', refusal: { cause: 'block', block: rejected } }; // row 2
  if (input.dno !== undefined) {
    const entry = dnoEntry(input.callingTn, input.dno);
    if (entry !== undefined) return { action: 'refuse', refusal: { cause: 'dno', entry } }; // row 3
  }
  if (input.destinations !== undefined) {
    const d = decideDestination(input.calledTn, input.destinations);
    if (!d.ok) return { action: 'refuse', refusal: { cause: 'destination', detail: d.detail } }; // row 4
  }
  const mark = findBlock(input.blocks, input.keys, 'mark', input.nowMs);
  return mark === undefined ? ADMIT : { action: 'admit', mark }; // row 5
}
