import type { Logger } from '../log/logger.js';
import type { SipRequest } from '../sip/message/message.js';
import type { Flow } from '../sip/transport/types.js';
import type { TrunkRuntime } from './router.js';

/**
 * The seam where STIR attaches to the INVITE path. The B2BUA calls `onInitialInvite` once per new call,
 * after validation and trunk matching and before the B-leg INVITE is sent; the hook may add or remove
 * headers on the B-leg request, or reject the call. Signing (originating trunks) and verification
 * (terminating trunks) are hooks; passthrough trunks have none.
 */
export interface InviteContext {
  readonly trunk: TrunkRuntime;
  /** The A-leg INVITE as received (read-only by convention). */
  readonly aRequest: SipRequest;
  /** The B-leg INVITE being built: the hook edits its headers. */
  readonly bRequest: SipRequest;
  readonly flow: Flow;
  /** process.hrtime.bigint() when the A-leg INVITE arrived. */
  readonly receivedAt: bigint;
  /** The call's child logger (call number, Call-ID, trunk, role bound). */
  readonly log: Logger;
}

export type HookDecision =
  | { readonly action: 'continue' }
  | {
      readonly action: 'reject';
      readonly status: number;
      readonly reasonPhrase?: string;
      /** Extra headers on the rejection, e.g. a STIR Reason (RFC 8224 §6.2.2). */
      readonly headers?: readonly (readonly [string, string])[];
    };

export interface InviteHook {
  onInitialInvite(ctx: InviteContext): Promise<HookDecision>;
}

export const CONTINUE: HookDecision = Object.freeze({ action: 'continue' });
