import { describe, expect, it } from 'vitest';
import {
  DEFAULT_VERIFICATION_PROFILE,
  decideVerification,
  type VerificationProfile,
} from '../../../src/policy/verification.js';
import { VERIFY_CODES, VERIFY_OUTCOMES, type VerifyCode } from '../../../src/stir/codes.js';

const mark: VerificationProfile = { onFailure: 'mark', requireIdentity: false };
const reject: VerificationProfile = { onFailure: 'reject', requireIdentity: false };
const requireId: VerificationProfile = { onFailure: 'mark', requireIdentity: true };
const strictest: VerificationProfile = { onFailure: 'reject', requireIdentity: true };
const profiles = [mark, reject, requireId, strictest];
const absent: VerifyCode[] = ['no_identity', 'unsupported_ppt'];
const d = (code: VerifyCode, p: VerificationProfile = DEFAULT_VERIFICATION_PROFILE) =>
  decideVerification({ code }, p);

describe('decideVerification', () => {
  it('default profile is mark-and-continue', () => {
    expect(DEFAULT_VERIFICATION_PROFILE).toEqual(mark);
    for (const code of VERIFY_CODES) expect(d(code).action).toBe('continue');
  });

  it('never blocks a passed result, under any profile', () => {
    for (const p of profiles)
      expect(d('passed', p)).toEqual({ action: 'continue', verstat: 'TN-Validation-Passed' });
  });

  it('never blocks on internal_error, and sends no Reason for it', () => {
    for (const p of profiles)
      expect(d('internal_error', p)).toEqual({ action: 'continue', verstat: 'No-TN-Validation' });
  });

  it('mark: failures continue with TN-Validation-Failed and the STIR Reason', () => {
    expect(d('cert_fetch_failed', mark)).toEqual({
      action: 'continue',
      verstat: 'TN-Validation-Failed',
      reason: 'STIR;cause=436;text="Bad Identity Info"',
    });
    expect(d('stale', mark)).toMatchObject({ reason: 'STIR;cause=403;text="Stale Date"' });
  });

  it('reject: failures answer with the table status, phrase and Reason', () => {
    expect(d('bad_signature', reject)).toEqual({
      action: 'reject',
      status: 438,
      reasonPhrase: 'Invalid Identity Header',
      reason: 'STIR;cause=438;text="Invalid Identity Header"',
    });
    expect(d('cert_untrusted', reject)).toMatchObject({
      status: 437,
      reasonPhrase: 'Unsupported Credential',
    });
  });

  it('no Identity: continue with No-TN-Validation unless requireIdentity, then 428', () => {
    for (const code of absent) {
      expect(d(code, reject)).toEqual({ action: 'continue', verstat: 'No-TN-Validation' });
      expect(d(code, requireId)).toEqual({
        action: 'reject',
        status: 428,
        reasonPhrase: 'Use Identity Header',
        reason: 'STIR;cause=428;text="Use Identity Header"',
      });
    }
  });

  it('table-driven over every code and profile: consistent with VERIFY_OUTCOMES', () => {
    for (const p of profiles) {
      for (const code of VERIFY_CODES) {
        const o = VERIFY_OUTCOMES[code];
        const r = d(code, p);
        const failure = !['passed', 'internal_error', ...absent].includes(code);
        const shouldReject =
          (failure && p.onFailure === 'reject') || (absent.includes(code) && p.requireIdentity);
        if (shouldReject) {
          expect(r).toEqual({
            action: 'reject',
            status: o.status,
            reasonPhrase: o.text,
            reason: `STIR;cause=${o.reasonCause};text="${o.text}"`,
          });
        } else {
          expect(r.action).toBe('continue');
          if (r.action === 'continue') {
            expect(r.verstat).toBe(o.verstat);
            expect(r.reason !== undefined).toBe(failure);
          }
        }
      }
    }
  });
});
