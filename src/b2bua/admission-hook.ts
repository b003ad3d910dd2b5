import type { CustomerLimitsConfig } from '../config/types.js';
import { policyChannels } from '../events.js';
import { type AdmissionRefusal, decideAdmission } from '../policy/admission.js';
import type { AdmissionCounters, AdmitResult, PolicyRefusalCause } from '../policy/admission-counters.js';
import type { NumberSet } from '../policy/attestation.js';
import type { Block, Controls, CustomerLimits, LiveValue } from '../policy/controls.js';
import type { DestinationPolicy } from '../policy/destinations.js';
import type { EmergencyNumbers } from '../policy/emergency.js';
import { effectiveLimits } from '../policy/limits.js';
import { canonicalizeTn } from '../stir/tn.js';
import { calledNumbers, callingNumber } from './call-numbers.js';
import { CONTINUE, type HookOutcome, type InviteContext, type InviteHook } from './invite-hooks.js';
import type { LiveBlockIndex } from './live-block-index.js';
import { MarkEdits } from './mark-edits.js';
import { policyReject, reasonText } from './policy-responses.js';

/** A configured customer as admission sees it (compiled once per configuration). */
export interface AdmissionCustomer {
  readonly name: string;
  /** The customer's origid (a block by `origid` matches its calls). */
  readonly origid: string | undefined;
  /** Configured limits; undefined: the policy's defaults. */
  readonly limits: CustomerLimitsConfig | undefined;
  readonly destinations: DestinationPolicy;
}

export interface AdmissionHookOptions {
  /** By name (TrunkRuntime.customer). */
  readonly customers: ReadonlyMap<string, AdmissionCustomer>;
  readonly defaultLimits: CustomerLimitsConfig;
  readonly emergency: EmergencyNumbers;
  readonly dno: NumberSet;
  readonly markHeader: string;
  readonly blocks: LiveBlockIndex;
  readonly controls: LiveValue<Controls>;
  readonly counters: AdmissionCounters;
  /** Epoch ms (block expiry). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Customer protections on originating trunks, before signing (issue 17): the pure decision of
 * src/policy/admission.ts (emergency, reject blocks, do-not-originate, destinations), then the customer's
 * limits from the admission counters (a token and a concurrent slot, given back when the call ends).
 * Synchronous when the counters are (one process); a cluster's counters answer with a promise.
 */
export class AdmissionHook implements InviteHook {
  readonly name = 'admission';
  readonly #o: AdmissionHookOptions;
  readonly #now: () => number;
  readonly #marks: MarkEdits;
  /** Effective limits by customer, for the Controls they were computed from. */
  #limitsFor: Controls | undefined;
  #limits = new Map<string, CustomerLimits>();

  constructor(opts: AdmissionHookOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.#marks = new MarkEdits(opts.markHeader);
  }

  onInitialInvite(ctx: InviteContext): HookOutcome | Promise<HookOutcome> {
    const o = this.#o;
    const { trunk, aRequest } = ctx;
    const cc = trunk.countryCode;
    const customer = trunk.customer === undefined ? undefined : o.customers.get(trunk.customer);
    const rawCalling = callingNumber(aRequest);
    const rawCalled = calledNumbers(aRequest)[0];
    const callingTn = rawCalling === undefined ? undefined : canonicalizeTn(rawCalling, { countryCode: cc });
    const calledTn = rawCalled === undefined ? undefined : canonicalizeTn(rawCalled, { countryCode: cc });
    const decision = decideAdmission({
      callingTn,
      calledTn,
      countryCode: cc,
      keys: {
        calling: callingTn,
        called: calledTn,
        customer: customer?.name,
        origid: customer?.origid,
        trunk: trunk.name,
      },
      emergency: o.emergency,
      blocks: o.blocks.current,
      dno: o.dno,
      ...(customer !== undefined ? { destinations: customer.destinations } : {}),
      nowMs: this.#now(),
    });
    const name = customer?.name ?? '';
    if (decision.action === 'emergency') {
      if (policyChannels.emergency.hasSubscribers) policyChannels.emergency.publish({ customer: name });
      return CONTINUE;
    }
    if (decision.action === 'refuse') return this.#refuse(ctx, name, decision.refusal);
    const mark = decision.mark === undefined ? undefined : this.#marks.of(decision.mark);
    if (customer === undefined) return mark ?? CONTINUE;
    const admitted = o.counters.admit(name, this.#limitsOf(customer));
    if (admitted instanceof Promise) return admitted.then((r) => this.#afterLimits(ctx, name, r, mark));
    return this.#afterLimits(ctx, name, admitted, mark);
  }

  #afterLimits(
    ctx: InviteContext,
    customer: string,
    r: AdmitResult,
    mark: HookOutcome | undefined,
  ): HookOutcome {
    if (r.ok) {
      const counters = this.#o.counters;
      ctx.onCallEnd(() => counters.release(customer));
      return mark ?? CONTINUE;
    }
    publishRefusal(customer, r.cause);
    logRefusal(ctx, r.cause, `limit:${r.cause}`);
    const text = r.cause === 'cps' ? 'call rate limit' : 'concurrent call limit';
    return policyReject(r.cause, `limit:${r.cause}`, [
      ['Retry-After', String(r.retryAfterS)],
      reasonText(503, text),
    ]);
  }

  #refuse(ctx: InviteContext, customer: string, refusal: AdmissionRefusal): HookOutcome {
    if (customer !== '') this.#o.counters.refused(customer, refusal.cause);
    publishRefusal(customer, refusal.cause);
    let out: HookOutcome;
    switch (refusal.cause) {
      case 'block':
        out = blockRefusal(refusal.block);
        break;
      case 'dno':
        out = policyReject('dno', `dno:${refusal.entry}`, [
          reasonText(403, 'calling number on the do-not-originate list'),
        ]);
        break;
      case 'destination':
        out = policyReject('destination', `destination:${refusal.detail}`, [
          reasonText(403, `destination not permitted: ${refusal.detail}`),
        ]);
        break;
    }
    if (out.action === 'reject') logRefusal(ctx, refusal.cause, out.detail);
    return out;
  }

  /** The customer's limits under the current overrides, recomputed when the Controls change. */
  #limitsOf(customer: AdmissionCustomer): CustomerLimits {
    const controls = this.#o.controls.current;
    if (controls !== this.#limitsFor) {
      const next = new Map<string, CustomerLimits>();
      for (const c of this.#o.customers.values()) {
        next.set(c.name, effectiveLimits(controls.limitOverrides[c.name], c.limits, this.#o.defaultLimits));
      }
      this.#limits = next;
      this.#limitsFor = controls;
    }
    return this.#limits.get(customer.name)!;
  }
}

/** A reject block on an originating trunk: 403 with the block's reason. */
function blockRefusal(block: Block): HookOutcome {
  return policyReject('block_originating', `block:${block.id}`, [
    reasonText(403, `blocked: ${block.reason}`),
  ]);
}

export function publishRefusal(customer: string, cause: PolicyRefusalCause): void {
  if (policyChannels.refusal.hasSubscribers) policyChannels.refusal.publish({ customer, cause });
}

export function logRefusal(ctx: InviteContext, cause: string, detail: string | undefined): void {
  if (ctx.log.isLevelEnabled('info'))
    ctx.log.info({ cause, detail, event: 'policy_refused' }, 'call refused by an operator control');
}
