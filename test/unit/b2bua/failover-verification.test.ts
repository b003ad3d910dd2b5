/**
 * Failover must not undo verification: the INVITE a second hop gets carries our verification outcome
 * (verstat, Reason, attestation header) exactly as a one-hop route's INVITE does, and nothing the caller
 * claimed about verification (3GPP TS 24.229 §7.2A.20: verstat is the verifier's, never the peer's;
 * RFC 8224 §6.2.2 / RFC 9410 §3: the STIR Reason is ours).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../src/sip/message/message.js';
import type { B2buaHarness } from '../../support/b2bua-harness.js';
import { responseTo } from '../../support/peer-messages.js';
import { createFixture, type Fixture } from '../stir/verify-fixtures.js';
import {
  badSignatureIdentity,
  CALLING,
  goodIdentity,
  placeCall,
  STIR_438,
  verificationView,
  verifyingHarness,
  verstats,
  wireText,
} from './verified-call.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(async () => {
  await fx.close();
});

const open: B2buaHarness[] = [];
afterEach(() => {
  for (const h of open.splice(0)) h.close();
});

interface Claim {
  /** From without tag, as the caller writes it. */
  readonly from: string;
  readonly headers: readonly string[];
}

/** The call through a one-hop route: the reference for what any hop must get. */
async function oneHop(claim: Claim): Promise<SipRequest> {
  const h = verifyingHarness(fx, 1);
  open.push(h);
  return placeCall(h, claim.from, claim.headers);
}

/** The call through a two-hop route whose first hop answers 503: both hops' INVITEs and hop 1's trace. */
async function failedOver(
  claim: Claim,
): Promise<{ hop1: SipRequest; hop2: SipRequest; hop1Trace: string[] }> {
  const h = verifyingHarness(fx, 2, [503]);
  open.push(h);
  const hop1 = await placeCall(h, claim.from, claim.headers);
  const [p1, p2] = h.hops as [(typeof h.hops)[0], (typeof h.hops)[0]];
  p1.send(responseTo(hop1, 503, { toTag: 'hop1' }));
  await h.until(() => p2.requests('INVITE').length > 0, 'the INVITE at hop 2');
  return { hop1, hop2: p2.request('INVITE'), hop1Trace: p1.trace() };
}

const PEER_PASSED_FROM = `<sip:${CALLING};verstat=TN-Validation-Passed@127.0.0.21;user=phone>`;
const PAI = `P-Asserted-Identity: <sip:${CALLING}@127.0.0.21;user=phone>`;

interface Outcome {
  readonly verstat: 'TN-Validation-Passed' | 'TN-Validation-Failed';
  readonly reason: readonly string[];
  readonly attestation: readonly string[];
  /** A verstat value that must appear nowhere in the message (the caller's claim). */
  readonly absent: string;
}

/** Our verification outcome, exactly, on a B-leg INVITE (soft: every difference is reported). */
function expectOutcome(name: string, req: SipRequest, o: Outcome): void {
  const v = verificationView(req);
  expect.soft(verstats(v.fromUri), `${name}: From verstat`).toEqual([o.verstat]);
  expect.soft(v.fromUri, `${name}: verstat on the number`).toContain(`sip:${CALLING};verstat=${o.verstat}@`);
  expect
    .soft(
      v.reason.filter((r) => /^STIR\b/i.test(r)),
      `${name}: STIR Reason`,
    )
    .toEqual(o.reason);
  expect.soft(v.attestation, `${name}: X-Attestation`).toEqual(o.attestation);
  expect.soft(wireText(req), `${name}: ${o.absent} anywhere`).not.toContain(o.absent);
}

describe('failover after verification (terminating trunk, on_failure: mark)', () => {
  it('a bad signature: hop 2 gets exactly the one-hop outcome (Failed, STIR 438, no X-Attestation), none of the caller claims', async () => {
    const claim: Claim = {
      from: PEER_PASSED_FROM,
      headers: [PAI, 'X-Attestation: A', `Identity: ${badSignatureIdentity(fx)}`],
    };
    const reference = await oneHop(claim);
    const { hop1, hop2, hop1Trace } = await failedOver(claim);

    // 503 is final: the client transaction ACKs it, there is nothing to CANCEL (RFC 3261 §17.1.1.3).
    expect(hop1Trace).toEqual(['INVITE', 'ACK']);
    const failed: Outcome = {
      verstat: 'TN-Validation-Failed',
      reason: [STIR_438],
      attestation: [],
      absent: 'TN-Validation-Passed',
    };
    expectOutcome('one hop', reference, failed);
    expectOutcome('hop 1', hop1, failed);
    expectOutcome('hop 2', hop2, failed);
    expect(verificationView(hop2)).toEqual(verificationView(reference));
  });

  it('a good signature: both hops get Passed once and our X-Attestation: A once, no STIR Reason', async () => {
    const claim: Claim = {
      from: PEER_PASSED_FROM,
      headers: [PAI, 'X-Attestation: A', `Identity: ${goodIdentity(fx)}`],
    };
    const reference = await oneHop(claim);
    const { hop1, hop2, hop1Trace } = await failedOver(claim);
    expect(hop1Trace).toEqual(['INVITE', 'ACK']);
    const passed: Outcome = {
      verstat: 'TN-Validation-Passed',
      reason: [],
      attestation: ['A'],
      absent: 'TN-Validation-Failed',
    };
    expectOutcome('one hop', reference, passed);
    expectOutcome('hop 1', hop1, passed);
    expectOutcome('hop 2', hop2, passed);
    expect(verificationView(hop2)).toEqual(verificationView(reference));
  });

  it('a good signature under contrary caller claims (Failed, C): hop 2 shows ours (Passed, A)', async () => {
    // The caller's claims differ from our outcome here, so a claim that crosses cannot pass for ours.
    const claim: Claim = {
      from: `<sip:${CALLING};verstat=TN-Validation-Failed@127.0.0.21;user=phone>`,
      headers: [PAI, 'X-Attestation: C', `Identity: ${goodIdentity(fx)}`],
    };
    const reference = await oneHop(claim);
    const { hop2 } = await failedOver(claim);
    const passed: Outcome = {
      verstat: 'TN-Validation-Passed',
      reason: [],
      attestation: ['A'],
      absent: 'TN-Validation-Failed',
    };
    expectOutcome('one hop', reference, passed);
    expectOutcome('hop 2', hop2, passed);
    expect(verificationView(hop2)).toEqual(verificationView(reference));
  });
});
