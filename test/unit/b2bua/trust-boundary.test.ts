import { describe, expect, it } from 'vitest';
import { removePeerVerificationClaims, removeStirReasons } from '../../../src/b2bua/trust-boundary.js';
import { invite } from './support.js';

describe('removePeerVerificationClaims', () => {
  it('removes the verstat, the attestation header and STIR Reasons, keeps everything else', () => {
    const r = invite([
      'From: <sip:+12025550100;verstat=TN-Validation-Passed@x;user=phone>;tag=1',
      'X-Attestation: A',
      'Reason: STIR;cause=438;text="Invalid Identity Header"',
      'Reason: Q.850;cause=16',
      'X-Other: 1',
    ]);
    removePeerVerificationClaims(r, { attestationHeader: 'x-attestation' });
    expect(r.get('from')).toBe('<sip:+12025550100@x;user=phone>;tag=1');
    expect(r.has('x-attestation')).toBe(false);
    expect(r.getAll('reason')).toEqual(['Q.850;cause=16']);
    expect(r.get('x-other')).toBe('1');
  });

  it('keeps an attestation-looking header when the trunk names none', () => {
    const r = invite(['From: <sip:+12025550100@x>;tag=1', 'X-Attestation: A']);
    removePeerVerificationClaims(r, { attestationHeader: '' });
    expect(r.get('x-attestation')).toBe('A');
  });
});

describe('removeStirReasons (RFC 3326 §2, RFC 8224 §6.2.2)', () => {
  it('drops STIR values from a comma-separated Reason and keeps the others in order', () => {
    const r = invite([
      'From: <sip:a@x>;tag=1',
      'Reason: SIP;cause=480, stir ;cause=436;text="Bad Identity Info", Q.850;cause=16',
      'Reason: STIR;cause=438',
    ]);
    removeStirReasons(r);
    expect(r.headers.filter((h) => h.name === 'reason').map((h) => h.value)).toEqual([
      'SIP;cause=480, Q.850;cause=16',
    ]);
  });

  it('does not mistake a text that mentions STIR for a STIR Reason', () => {
    const r = invite(['From: <sip:a@x>;tag=1', 'Reason: SIP;cause=603;text="STIR check failed upstream"']);
    removeStirReasons(r);
    expect(r.getAll('reason')).toEqual(['SIP;cause=603;text="STIR check failed upstream"']);
  });
});
