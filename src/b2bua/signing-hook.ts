import { decisionChannels, type UnsignedReason } from '../events.js';
import { decideAttestation, EMPTY_NUMBER_SET, type NumberSet } from '../policy/attestation.js';
import type { Signer } from '../stir/signer.js';
import { canonicalizeTn } from '../stir/tn.js';
import { calledNumbers, callingNumber } from './call-numbers.js';
import { CONTINUE, type HookOutcome, type InviteContext, type InviteHook } from './invite-hooks.js';
import type { LegEdit } from './leg-edits.js';

export interface CustomerRuntime {
  readonly name: string;
  readonly origid: string;
  readonly numbers: NumberSet;
}

export interface SigningHookOptions {
  readonly signer: Signer;
  /** Customer by name (TrunkRuntime.customer). */
  readonly customers: ReadonlyMap<string, CustomerRuntime>;
}

/** origid for gateway ingress that belongs to no customer. */
const GATEWAY_ORIGID = '00000000-0000-4000-8000-000000000000';

const REMOVE_IDENTITY: LegEdit = Object.freeze({ op: 'remove', name: 'identity' });

/**
 * Authentication service on the INVITE path (RFC 8224 §5, ATIS-1000074 §5.2): decide the attestation
 * for the call, sign, add the Identity header to the B-leg. A call that cannot be signed is forwarded
 * unsigned, counted and logged: signing never drops a call. Synchronous (see Signer.signSync).
 */
export class SigningHook implements InviteHook {
  readonly name = 'sign';
  readonly #o: SigningHookOptions;

  constructor(opts: SigningHookOptions) {
    this.#o = opts;
  }

  onInitialInvite(ctx: InviteContext): HookOutcome {
    const { trunk, aRequest } = ctx;
    let replaced = false;
    if (aRequest.has('identity')) {
      if (trunk.identityIn === 'keep') {
        this.#publish(trunk.name, 'unsigned', 'kept_customer_identity');
        return CONTINUE;
      }
      // Default: a customer's own Identity is not trusted; ours replaces it.
      replaced = true;
    }
    const unsigned: HookOutcome = replaced ? { action: 'continue', edits: [REMOVE_IDENTITY] } : CONTINUE;
    const customer = trunk.customer === undefined ? undefined : this.#o.customers.get(trunk.customer);
    const rawCalling = callingNumber(aRequest);
    const cc = trunk.countryCode;
    const callingTn = rawCalling === undefined ? undefined : canonicalizeTn(rawCalling, { countryCode: cc });
    const decision = decideAttestation({
      customerKnown: customer !== undefined,
      gateway: trunk.gateway,
      callingTn,
      numbers: customer?.numbers ?? EMPTY_NUMBER_SET,
    });
    if (!decision.sign) {
      this.#publish(trunk.name, 'unsigned', decision.reason);
      ctx.log.info({ reason: decision.reason, event: 'unsigned' }, 'call forwarded unsigned');
      return unsigned;
    }
    // RFC 8588 §6 / ATIS-1000074 §5.2.1: dest.tn is the called number, E.164 with the trunk's country code.
    const called = calledNumbers(aRequest)[0];
    const destTn = called === undefined ? undefined : canonicalizeTn(called, { countryCode: cc });
    // A gateway trunk without a customer still needs an origid naming the ingress (ATIS-1000074 §5.2.4).
    const origid = customer?.origid ?? GATEWAY_ORIGID;
    const result = this.#o.signer.signSync({
      attest: decision.attest,
      origTn: callingTn!,
      destTns: destTn === undefined ? [] : [destTn],
      origid,
    });
    if (!result.ok) {
      this.#publish(trunk.name, 'unsigned', 'sign_failed');
      ctx.log.warn(
        { code: result.code, err: result.cause, event: 'sign_failed' },
        'signing failed; call forwarded unsigned',
      );
      return unsigned;
    }
    ctx.facts.signed = { attest: decision.attest, origid, iat: result.claims.iat, jws: result.jws };
    this.#publish(trunk.name, decision.attest);
    const add: LegEdit = { op: 'append', name: 'identity', value: result.identity };
    return { action: 'continue', edits: replaced ? [REMOVE_IDENTITY, add] : [add] };
  }

  #publish(trunk: string, attest: 'A' | 'B' | 'C' | 'unsigned', reason?: UnsignedReason): void {
    if (decisionChannels.attestation.hasSubscribers) {
      decisionChannels.attestation.publish(
        reason === undefined ? { trunk, attest } : { trunk, attest, reason },
      );
    }
  }
}
