import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

// Make crypto.sign fail on demand to exercise the sign_failed path (callback error and synchronous throw).
const mode = vi.hoisted(() => ({ value: 'real' as 'real' | 'callback_error' | 'throw' }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    sign: (...args: unknown[]) => {
      if (mode.value === 'throw') throw new Error('boom (sync)');
      if (mode.value === 'callback_error') {
        const cb = args[3] as (err: Error | null, sig?: Buffer) => void;
        setImmediate(() => cb(new Error('boom (async)')));
        return undefined;
      }
      return (real.sign as (...a: unknown[]) => unknown)(...args);
    },
  };
});

const { Signer } = await import('../../../src/stir/signer.js');

describe('Signer failure paths', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const signer = new Signer({ privateKey: key, x5u: 'https://x.example/sp.pem' });
  const input = { attest: 'A', origTn: '12025550100', destTns: ['12025550199'], origid: 'o' } as const;

  it('resolves sign_failed with the cause when the signature callback errors', async () => {
    mode.value = 'callback_error';
    const r = await signer.sign(input);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.code).toBe('sign_failed');
    expect(!r.ok && (r.cause as Error).message).toBe('boom (async)');
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
