import { decisionChannels } from '../events.js';
import { decideVerification } from '../policy/verification.js';
import { VERIFY_OUTCOMES } from '../stir/codes.js';
import type { Verifier, VerifyResult } from '../stir/verifier.js';
import { calledNumbers, callingNumber } from './call-numbers.js';
import type { HookOutcome, InviteContext, InviteHook } from './invite-hooks.js';
import type { LegEdit } from './leg-edits.js';
import type { VerificationProfile } from './router.js';

export interface VerificationHookOptions {
  readonly verifier: Verifier;
}

const DEFAULT_PROFILE: VerificationProfile = Object.freeze({
  onFailure: 'mark',
  requireIdentity: false,
  attestationHeader: '',
});

/**
 * Verification service on the INVITE path (RFC 8224 §6.2, ATIS-1000074 §5.3): verify, let the trunk's
 * policy decide (src/policy/verification.ts), then mark the B-leg (verstat on the calling number, Reason on
 * failure, the attestation header when it passed) or reject the A-leg. The peer's own verification claims
 * never reach this far: the B-leg builder removes them on every B-leg INVITE (src/b2bua/trust-boundary.ts).
 */
export class VerificationHook implements InviteHook {
  readonly name = 'verify';
  readonly #o: VerificationHookOptions;

  constructor(opts: VerificationHookOptions) {
    this.#o = opts;
  }

  onInitialInvite(ctx: InviteContext): HookOutcome | Promise<HookOutcome> {
    const { trunk, aRequest } = ctx;
    // Synchronous with a warm certificate cache (Verifier.check): no promise on the INVITE path.
    const result = this.#o.verifier.check({
      identityValues: aRequest.getAll('identity'),
      callingTn: callingNumber(aRequest),
      calledTns: calledNumbers(aRequest),
      countryCode: trunk.countryCode,
    });
    return result instanceof Promise ? result.then((r) => this.#decide(ctx, r)) : this.#decide(ctx, result);
  }

  #decide(ctx: InviteContext, result: VerifyResult): HookOutcome {
    const { trunk } = ctx;
    const profile = trunk.verification ?? DEFAULT_PROFILE;
    const decision = decideVerification(result, profile);
    ctx.facts.verified = {
      code: result.code,
      verstat: VERIFY_OUTCOMES[result.code].verstat,
      ...(result.attest !== undefined ? { attest: result.attest } : {}),
      ...(result.origid !== undefined ? { origid: result.origid } : {}),
      ...(result.iat !== undefined ? { iat: result.iat } : {}),
      ...(result.x5u !== undefined ? { x5u: result.x5u } : {}),
      ...(result.spc !== undefined ? { spc: result.spc } : {}),
      ...(result.subject !== undefined ? { subject: result.subject } : {}),
    };
    if (decisionChannels.verification.hasSubscribers) {
      decisionChannels.verification.publish({
        trunk: trunk.name,
        code: result.code,
        action: decision.action,
      });
    }
    if (result.code !== 'passed' && ctx.log.isLevelEnabled('info')) {
      ctx.log.info(
        { code: result.code, detail: result.detail, action: decision.action, event: 'verification' },
        'identity verification did not pass',
      );
    }
    if (decision.action === 'reject') {
      return {
        action: 'reject',
        status: decision.status,
        reasonPhrase: decision.reasonPhrase,
        headers: [['Reason', decision.reason]],
        cause: 'verification',
      };
    }
    const edits: LegEdit[] = [{ op: 'verstat', verstat: decision.verstat }];
    if (decision.reason !== undefined) edits.push({ op: 'append', name: 'reason', value: decision.reason });
    if (profile.attestationHeader !== '' && result.code === 'passed' && result.attest !== undefined) {
      edits.push({ op: 'set', name: profile.attestationHeader, value: result.attest });
    }
    return { action: 'continue', edits };
  }
}
