import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

// Make crypto.sign fail on demand to exercise the sign_failed path (the Signer signs synchronously).
const mode = vi.hoisted(() => ({ value: 'real' as 'real' | 'throw' }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    sign: (...args: unknown[]) => {
      if (mode.value === 'throw') throw new Error('boom (sync)');
      return (real.sign as (...a: unknown[]) => unknown)(...args);
    },
  };
});

const { Signer } = await import('../../../src/stir/signer.js');

describe('Signer failure paths', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const signer = new Signer({ privateKey: key, x5u: 'https://x.example/sp.pem' });
  const input = { attest: 'A', origTn: '12025550100', destTns: ['12025550199'], origid: 'o' } as const;

  it('signSync returns sign_failed with the cause instead of throwing', () => {
    mode.value = 'throw';
    const r = signer.signSync(input);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.code).toBe('sign_failed');
    expect(!r.ok && (r.cause as Error).message).toBe('boom (sync)');
  });

  it('resolves sign_failed when crypto.sign throws synchronously', async () => {
    mode.value = 'throw';
    const r = await signer.sign(input);
    expect(!r.ok && r.code).toBe('sign_failed');
    expect(!r.ok && (r.cause as Error).message).toBe('boom (sync)');
  });

  it('signs again once crypto works', async () => {
    mode.value = 'real';
    expect((await signer.sign(input)).ok).toBe(true);
  });
});
