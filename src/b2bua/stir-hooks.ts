import { decisionChannels } from '../events.js';
import { decideAttestation, EMPTY_NUMBER_SET, type NumberSet } from '../policy/attestation.js';
import { decideVerification } from '../policy/verification.js';
import { splitHeaderValues } from '../sip/message/headers.js';
import type { SipRequest } from '../sip/message/message.js';
import { formatNameAddr, parseNameAddr } from '../sip/message/name-addr.js';
import { uriUserNumber, withUserParam } from '../sip/message/uri.js';
import type { Verstat } from '../stir/codes.js';
import type { Signer } from '../stir/signer.js';
import { canonicalizeTn } from '../stir/tn.js';
import type { Verifier } from '../stir/verifier.js';
import { calledNumbers, callingNumber } from './call-numbers.js';
import { CONTINUE, type HookDecision, type InviteContext, type InviteHook } from './hooks.js';

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

/**
 * Authentication service on the INVITE path (RFC 8224 §5, ATIS-1000074 §5.2): decide the attestation
 * for the call, sign, add the Identity header to the B-leg. A call that cannot be signed is forwarded
 * unsigned, counted and logged: signing never drops a call.
 */
export class SigningHook implements InviteHook {
  readonly #o: SigningHookOptions;

  constructor(opts: SigningHookOptions) {
    this.#o = opts;
  }

  async onInitialInvite(ctx: InviteContext): Promise<HookDecision> {
    const { trunk, aRequest, bRequest } = ctx;
    if (aRequest.has('identity')) {
      if (trunk.identityIn === 'keep') {
        this.#publish(trunk.name, 'unsigned', 'kept_customer_identity');
        return CONTINUE;
      }
      // Default: a customer's own Identity is not trusted; ours replaces it.
      bRequest.remove('identity');
    }
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
      return CONTINUE;
    }
    // RFC 8588 §6 / ATIS-1000074 §5.2.1: dest.tn is the called number, E.164 with the trunk's country code.
    const called = calledNumbers(aRequest)[0];
    const destTn = called === undefined ? undefined : canonicalizeTn(called, { countryCode: cc });
    const result = this.#o.signer.signSync({
      attest: decision.attest,
      origTn: callingTn!,
      destTns: destTn === undefined ? [] : [destTn],
      // A gateway trunk without a customer still needs an origid naming the ingress (ATIS-1000074 §5.2.4).
      origid: customer?.origid ?? GATEWAY_ORIGID,
    });
    if (!result.ok) {
      this.#publish(trunk.name, 'unsigned', 'sign_failed');
      ctx.log.warn(
        { code: result.code, err: result.cause, event: 'sign_failed' },
        'signing failed; call forwarded unsigned',
      );
      return CONTINUE;
    }
    bRequest.append('identity', result.identity);
    this.#publish(trunk.name, decision.attest);
    return CONTINUE;
  }

  #publish(
    trunk: string,
    attest: 'A' | 'B' | 'C' | 'unsigned',
    reason?: 'no_calling_number' | 'unknown_customer' | 'sign_failed' | 'kept_customer_identity',
  ): void {
    if (decisionChannels.attestation.hasSubscribers) {
      decisionChannels.attestation.publish(
        reason === undefined ? { trunk, attest } : { trunk, attest, reason },
      );
    }
  }
}

/** origid for gateway ingress that belongs to no customer. */
const GATEWAY_ORIGID = '00000000-0000-4000-8000-000000000000';

export interface VerificationHookOptions {
  readonly verifier: Verifier;
}

/**
 * Verification service on the INVITE path (RFC 8224 §6.2, ATIS-1000074 §5.3): verify, let the trunk's
 * policy decide, then mark the B-leg (verstat on the calling number, Reason on failure, attestation header)
 * or reject the A-leg.
 */
export class VerificationHook implements InviteHook {
  readonly #o: VerificationHookOptions;

  constructor(opts: VerificationHookOptions) {
    this.#o = opts;
  }

  async onInitialInvite(ctx: InviteContext): Promise<HookDecision> {
    const { trunk, aRequest, bRequest } = ctx;
    const profile = trunk.verification ?? {
      onFailure: 'mark' as const,
      requireIdentity: false,
      attestationHeader: '',
    };
    const callingTn = callingNumber(aRequest);
    const result = await this.#o.verifier.verify({
      identityValues: aRequest.getAll('identity'),
      callingTn,
      calledTns: calledNumbers(aRequest),
      countryCode: trunk.countryCode,
    });
    const decision = decideVerification(result, profile);
    if (decisionChannels.verification.hasSubscribers) {
      decisionChannels.verification.publish({
        trunk: trunk.name,
        code: result.code,
        action: decision.action,
      });
    }
    if (result.code !== 'passed' && ctx.log.isLevelEnabled('info')) {
      ctx.log.info(
        {
          code: result.code,
          detail: result.detail,
          action: decision.action,
          event: 'verification',
        },
        'identity verification did not pass',
      );
    }
    if (decision.action === 'reject') {
      return {
        action: 'reject',
        status: decision.status,
        reasonPhrase: decision.reasonPhrase,
        headers: [['Reason', decision.reason]],
      };
    }
    markVerstat(bRequest, decision.verstat);
    if (decision.reason !== undefined) bRequest.append('reason', decision.reason);
    if (profile.attestationHeader !== '' && result.code === 'passed' && result.attest !== undefined) {
      bRequest.set(profile.attestationHeader, result.attest);
    }
    return CONTINUE;
  }
}

/**
 * 3GPP TS 24.229 §7.2A.20: `verstat` goes on the URI that carries the verified calling number, in
 * P-Asserted-Identity and From; a URI that carries no telephone number (`sip:anonymous@...`) is left alone.
 * A verstat that arrived from the peer is replaced, never trusted. Header order is kept.
 */
export function markVerstat(req: SipRequest, verstat: Verstat): void {
  let changed = false;
  for (let i = 0; i < req.headers.length; i++) {
    const h = req.headers[i]!;
    if (h.name !== 'from' && h.name !== 'p-asserted-identity') continue;
    const values = h.name === 'from' ? [h.value] : splitHeaderValues(h.value);
    const marked = values.map((v) => {
      const na = parseNameAddr(v);
      const n = uriUserNumber(na.uri);
      if (n === undefined || canonicalizeTn(n) === undefined) return v;
      return formatNameAddr({ ...na, uri: withUserParam(na.uri, 'verstat', verstat) });
    });
    req.headers[i] = { ...h, value: marked.join(', ') };
    changed = true;
  }
  if (changed) req.invalidate();
}
