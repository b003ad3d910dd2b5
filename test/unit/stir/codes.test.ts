import { describe, expect, it } from 'vitest';
import {
  formatStirReason,
  hasStirReason,
  VERIFY_CODES,
  VERIFY_OUTCOMES,
  type VerifyCode,
  type VerifyOutcome,
} from '../../../src/stir/codes.js';

// Exhaustiveness is the type check's: VERIFY_OUTCOMES `satisfies Record<VerifyCode, VerifyOutcome>` in
// src/stir/codes.ts, so a code without a row does not compile. What follows checks the rows' values.

describe('VERIFY_OUTCOMES', () => {
  it('maps every code to a STIR status, cause and verstat', () => {
    for (const code of VERIFY_CODES) {
      const o: VerifyOutcome = VERIFY_OUTCOMES[code];
      if (code === 'passed') {
        expect(o).toEqual({ status: 200, reasonCause: null, text: 'OK', verstat: 'TN-Validation-Passed' });
        continue;
      }
      if (code === 'internal_error') {
        expect(o.reasonCause).toBeNull();
        expect(o.verstat).toBe('No-TN-Validation');
        continue;
      }
      // RFC 8224 §6.2.2 / §13.2 response codes; RFC 9410 §3 cause = the same code.
      expect([403, 428, 436, 437, 438]).toContain(o.status);
      expect(o.reasonCause).toBe(o.status);
      expect(o.verstat).toBe(o.status === 428 ? 'No-TN-Validation' : 'TN-Validation-Failed');
    }
  });

  it('uses the RFC 8224 / ATIS-1000074 §5.3.2 phrases', () => {
    const rows: [VerifyCode, number, string][] = [
      ['no_identity', 428, 'Use Identity Header'],
      ['stale', 403, 'Stale Date'],
      ['future_iat', 403, 'Stale Date'],
      ['cert_fetch_failed', 436, 'Bad Identity Info'],
      ['x5u_disallowed', 436, 'Bad Identity Info'],
      ['cert_untrusted', 437, 'Unsupported Credential'],
      ['unsupported_alg', 437, 'Unsupported Credential'],
      ['bad_signature', 438, 'Invalid Identity Header'],
      ['missing_claim', 438, 'Invalid PASSporT'],
    ];
    for (const [code, status, text] of rows) {
      expect(VERIFY_OUTCOMES[code]).toMatchObject({ status, text });
    }
  });
});

describe('formatStirReason', () => {
  it('formats the RFC 9410 Reason value', () => {
    expect(formatStirReason('cert_fetch_failed')).toBe('STIR;cause=436;text="Bad Identity Info"');
    expect(formatStirReason('stale')).toBe('STIR;cause=403;text="Stale Date"');
    expect(formatStirReason('bad_signature')).toBe('STIR;cause=438;text="Invalid Identity Header"');
  });

  it('exists for every code with a cause, and only those', () => {
    const withCause = VERIFY_CODES.filter(hasStirReason);
    expect(withCause).not.toContain('passed');
    expect(withCause).not.toContain('internal_error');
    expect(withCause.length).toBe(VERIFY_CODES.length - 2);
    for (const c of withCause) expect(formatStirReason(c)).toMatch(/^STIR;cause=4\d\d;text="[A-Za-z ]+"$/);
    // @ts-expect-error -- 'passed' carries no Reason
    formatStirReason('passed');
  });
});
