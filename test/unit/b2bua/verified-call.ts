/**
 * Calls into a terminating trunk that verifies (RFC 8224 §6.2, ATIS-1000074 §5.3) and marks (on_failure:
 * mark, attestation header X-Attestation), for the trust-boundary tests: Identity values made with the test
 * PKI of test/unit/stir/verify-fixtures.ts, and what a B-leg INVITE says about verification.
 */
import type { SipRequest } from '../../../src/sip/message/message.js';
import { serializeMessage } from '../../../src/sip/message/serialize.js';
import { type B2buaHarness, createB2buaHarness, LOCAL } from '../../support/b2bua-harness.js';
import { callerInvite } from '../../support/peer-messages.js';
import { DEST, type Fixture, ORIG, ORIGID } from '../stir/verify-fixtures.js';

export const ATTESTATION_HEADER = 'X-Attestation';
/** The calling number of the fixture's PASSporTs, as the caller writes it. */
export const CALLING = `+${ORIG}`;
export const CALLED = `+${DEST}`;
/** RFC 8224 §6.2.2 / RFC 9410 §3: the Reason a marked call carries after a bad signature. */
export const STIR_438 = 'STIR;cause=438;text="Invalid Identity Header"';

/** A terminating trunk with on_failure: mark; its own verifier (and replay store) per harness. */
export function verifyingHarness(fx: Fixture, hops = 1, failoverOn: readonly number[] = [503]): B2buaHarness {
  return createB2buaHarness({
    role: 'terminating',
    hops,
    failoverOn,
    verification: { onFailure: 'mark', requireIdentity: false, attestationHeader: ATTESTATION_HEADER },
    verifier: fx.verifier(),
  });
}

/** An Identity header value for CALLING -> CALLED with attestation A, signed now with the fixture's SP key. */
export function goodIdentity(fx: Fixture): string {
  const r = fx.signer().signSync({ attest: 'A', origTn: ORIG, destTns: [DEST], origid: ORIGID });
  if (!r.ok) throw new Error(`fixture signing failed: ${r.code}`);
  return r.identity;
}

/** The same Identity with one bit of its signature flipped: well-formed, fetchable, and bad_signature. */
export function badSignatureIdentity(fx: Fixture): string {
  const good = goodIdentity(fx);
  const semi = good.indexOf(';');
  const [h, p, s] = good.slice(0, semi).split('.') as [string, string, string];
  const sig = Buffer.from(s, 'base64url');
  sig[7] = sig[7]! ^ 0x01;
  return `${h}.${p}.${sig.toString('base64url')}${good.slice(semi)}`;
}

/**
 * The caller places a call with this From (without tag) and these extra header lines; resolves with the
 * INVITE the first hop received, once verification (a real certificate fetch on loopback) is done.
 */
export async function placeCall(
  h: B2buaHarness,
  from: string,
  headers: readonly string[],
): Promise<SipRequest> {
  const hop = h.hops[0]!;
  h.caller.send(callerInvite({ caller: h.caller.endpoint, to: LOCAL, from, called: CALLED, headers }));
  await h.until(() => hop.requests('INVITE').length > 0, `the INVITE at ${hop.name}`);
  return hop.request('INVITE');
}

/** What a B-leg INVITE says about verification: the fields the trust-boundary tests compare. */
export function verificationView(req: SipRequest): {
  fromUri: string;
  pai: string[];
  reason: string[];
  attestation: string[];
} {
  return {
    fromUri: (req.get('from') ?? '').replace(/;tag=[^;]*/i, ''),
    pai: req.getAll('p-asserted-identity'),
    reason: req.getAll('reason'),
    attestation: req.getAll(ATTESTATION_HEADER),
  };
}

/** Every `verstat=` value in a text, in order (URI user part, URI parameters, anywhere). */
export function verstats(text: string): string[] {
  return [...text.matchAll(/verstat=([^;>@,\s]*)/gi)].map((m) => m[1]!);
}

/** The whole message as it went on the wire, for "nowhere in the message" checks. */
export function wireText(req: SipRequest): string {
  return serializeMessage(req).toString('latin1');
}
