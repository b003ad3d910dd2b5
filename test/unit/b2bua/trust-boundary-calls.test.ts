/**
 * What a caller on a terminating trunk says about verification stays on its side: the callee's INVITE
 * carries our outcome only (3GPP TS 24.229 §7.2A.20 verstat; RFC 8224 §6.2.2 / RFC 9410 §3 STIR Reason;
 * the trunk's attestation header, docs/config.md). One hop, on_failure: mark, X-Attestation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../src/sip/message/message.js';
import type { B2buaHarness } from '../../support/b2bua-harness.js';
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

const FROM = `<sip:${CALLING}@127.0.0.21;user=phone>`;

/** One call through a fresh verifying harness; the INVITE the next hop received. */
async function call(from: string, headers: readonly string[]): Promise<SipRequest> {
  const h = verifyingHarness(fx);
  open.push(h);
  return placeCall(h, from, headers);
}

describe('trust boundary on a terminating trunk (one hop)', () => {
  it('a: the caller X-Attestation does not cross when verification fails', async () => {
    const failed = await call(FROM, ['X-Attestation: A', `Identity: ${badSignatureIdentity(fx)}`]);
    expect(verificationView(failed).reason).toEqual([STIR_438]); // the call did fail verification
    expect(failed.getAll('x-attestation')).toEqual([]);
  });

  it('a: the caller X-Attestation does not cross when no Identity came', async () => {
    const unsigned = await call(FROM, ['X-Attestation: A']);
    expect(unsigned.has('identity')).toBe(false);
    expect(unsigned.getAll('x-attestation')).toEqual([]);
  });

  it('a (control): our X-Attestation is there when verification passes', async () => {
    const passed = await call(FROM, ['X-Attestation: C', `Identity: ${goodIdentity(fx)}`]);
    expect(passed.getAll('x-attestation')).toEqual(['A']);
  });

  it('b: a verstat written as a URI parameter does not survive next to ours: exactly one, on the number', async () => {
    const forged = `<sip:${CALLING};verstat=TN-Validation-Failed@127.0.0.21;user=phone;verstat=TN-Validation-Passed>`;
    const failed = await call(forged, [`Identity: ${badSignatureIdentity(fx)}`]);
    const from = verificationView(failed).fromUri;
    expect(verstats(from)).toEqual(['TN-Validation-Failed']);
    expect(from).toContain(`sip:${CALLING};verstat=TN-Validation-Failed@`);

    const passed = await call(forged, [`Identity: ${goodIdentity(fx)}`]);
    expect(verstats(verificationView(passed).fromUri)).toEqual(['TN-Validation-Passed']);
  });

  it('c: a From without a telephone number loses a forged verstat and gets none of ours', async () => {
    const req = await call('<sip:anonymous;verstat=TN-Validation-Passed@127.0.0.21>', [
      `Identity: ${goodIdentity(fx)}`,
    ]);
    const from = verificationView(req).fromUri;
    expect(from).toContain('sip:anonymous');
    expect(verstats(from)).toEqual([]);
  });

  it('d: a caller STIR Reason does not cross on a call that passed; a Q.850 Reason still does', async () => {
    const req = await call(FROM, [
      'Reason: STIR;cause=438;text="Invalid Identity Header"',
      'Reason: Q.850;cause=16',
      `Identity: ${goodIdentity(fx)}`,
    ]);
    expect(verstats(verificationView(req).fromUri)).toEqual(['TN-Validation-Passed']);
    expect(req.getAll('reason')).toEqual(['Q.850;cause=16']);
  });

  it('d: on a call that failed, the STIR Reason is ours alone (one), next to the Q.850 one', async () => {
    const req = await call(FROM, [
      'Reason: STIR;cause=436;text="Bad Identity Info"',
      'Reason: Q.850;cause=16',
      `Identity: ${badSignatureIdentity(fx)}`,
    ]);
    const reasons = req.getAll('reason');
    expect(reasons.filter((r) => r.startsWith('STIR'))).toEqual([STIR_438]);
    expect(reasons.filter((r) => r.startsWith('Q.850'))).toEqual(['Q.850;cause=16']);
  });

  it.each([
    ['in the user part', `<sip:${CALLING};verstat=TN-Validation-Passed@127.0.0.21;user=phone>`],
    ['as a URI parameter', `<sip:${CALLING}@127.0.0.21;user=phone;verstat=TN-Validation-Passed>`],
    ['on a tel URI', `<tel:${CALLING};verstat=TN-Validation-Passed>`],
  ])(
    'e: a P-Asserted-Identity with a forged verstat %s gets ours instead, exactly one',
    async (_where, pai) => {
      const req = await call(FROM, [`P-Asserted-Identity: ${pai}`, `Identity: ${badSignatureIdentity(fx)}`]);
      const values = verificationView(req).pai;
      expect(values).toHaveLength(1);
      expect(verstats(values[0]!)).toEqual(['TN-Validation-Failed']);
      expect(verstats(verificationView(req).fromUri)).toEqual(['TN-Validation-Failed']);
    },
  );
});
