import { policyChannels } from '../events.js';
import { type BlockKeys, findBlock } from '../policy/block-index.js';
import { type EmergencyNumbers, isEmergencyNumber } from '../policy/emergency.js';
import { canonicalizeTn } from '../stir/tn.js';
import { logRefusal, publishRefusal } from './admission-hook.js';
import { calledNumbers, callingNumber } from './call-numbers.js';
import { CONTINUE, type HookOutcome, type InviteContext, type InviteHook } from './invite-hooks.js';
import type { LiveBlockIndex } from './live-block-index.js';
import { MarkEdits } from './mark-edits.js';
import { networkBlockedReason, policyReject, redressPart } from './policy-responses.js';

/**
 * Blocks on terminating (and passthrough) trunks (issue 17, "Blocks and their undo"), in two places of the
 * chain:
 * - `numbers` (before verification): blocks by calling number, called number and trunk;
 * - `signer` (after verification): blocks by the verified signer's SPC (RFC 8226 TNAuthList, what the
 *   verification hook put in `ctx.facts.verified.spc`); a call that did not verify has none.
 * Passthrough trunks have the `numbers` stage only (they verify nothing).
 * A `reject` block answers 603 Network Blocked with the ATIS-1000099 Reason and the redress contact
 * ("603+"); a `mark` block lets the call through with the mark header. A call to an emergency number is
 * never refused (checked only when a block matched, so it costs nothing otherwise).
 */
export type BlockStage = 'numbers' | 'signer';

export interface BlockHookOptions {
  readonly stage: BlockStage;
  readonly blocks: LiveBlockIndex;
  readonly emergency: EmergencyNumbers;
  readonly markHeader: string;
  readonly redress: { readonly url?: string; readonly tel?: string; readonly email?: string };
  /** Epoch ms (block expiry). Default `Date.now`. */
  readonly now?: () => number;
}

export class BlockHook implements InviteHook {
  readonly name: string;
  readonly #o: BlockHookOptions;
  readonly #now: () => number;
  readonly #marks: MarkEdits;
  readonly #redress: string;

  constructor(opts: BlockHookOptions) {
    this.name = opts.stage === 'numbers' ? 'block' : 'block-spc';
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.#marks = new MarkEdits(opts.markHeader);
    this.#redress = redressPart(opts.redress);
  }

  onInitialInvite(ctx: InviteContext): HookOutcome {
    const index = this.#o.blocks.current;
    if (index.size === 0) return CONTINUE; // the usual case: no canonicalisation, no lookups
    const keys = this.#keys(ctx);
    if (keys === undefined) return CONTINUE;
    const now = this.#now();
    const reject = findBlock(index, keys, 'reject', now);
    const mark = reject === undefined ? findBlock(index, keys, 'mark', now) : undefined;
    if (reject === undefined && mark === undefined) return CONTINUE;
    if (this.#emergency(ctx)) {
      if (policyChannels.emergency.hasSubscribers) policyChannels.emergency.publish({ customer: '' });
      return CONTINUE;
    }
    if (mark !== undefined) return this.#marks.of(mark);
    const detail = `block:${reject!.id}`;
    publishRefusal('', 'block');
    logRefusal(ctx, 'block', detail);
    return policyReject('block_terminating', detail, [networkBlockedReason(this.#redress, reject!.id)]);
  }

  #keys(ctx: InviteContext): BlockKeys | undefined {
    if (this.#o.stage === 'signer') {
      const spc = ctx.facts.verified?.spc;
      return spc === undefined ? undefined : { spc };
    }
    const { trunk, aRequest } = ctx;
    const cc = trunk.countryCode;
    const calling = callingNumber(aRequest);
    const called = calledNumbers(aRequest)[0];
    return {
      calling: calling === undefined ? undefined : canonicalizeTn(calling, { countryCode: cc }),
      called: called === undefined ? undefined : canonicalizeTn(called, { countryCode: cc }),
      trunk: trunk.name,
    };
  }

  #emergency(ctx: InviteContext): boolean {
    const cc = ctx.trunk.countryCode;
    const called = calledNumbers(ctx.aRequest)[0];
    const tn = called === undefined ? undefined : canonicalizeTn(called, { countryCode: cc });
    return isEmergencyNumber(tn, this.#o.emergency, cc);
  }
}
