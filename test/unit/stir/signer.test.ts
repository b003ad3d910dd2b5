import { generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import diagnostics_channel from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignEvent } from '../../../src/events.js';
import { parseIdentityHeader } from '../../../src/stir/identity-header.js';
import { loadSigningMaterial, StirConfigError } from '../../../src/stir/keys.js';
import { decodeJws } from '../../../src/stir/passport.js';
import { createDevPki, type DevPki } from '../../../src/stir/pki/dev-pki.js';
import { Signer, type SignResult } from '../../../src/stir/signer.js';

const X5U = 'https://cert.example.net/sp.pem';
const ORIGID = '123e4567-e89b-12d3-a456-426655440000';
const NOW_MS = 1_700_000_000_987;

describe('Signer (RFC 8224 §5, ATIS-1000074 §5.3.1)', () => {
  let dir: string;
  let pki: DevPki;
  let signer: Signer;
  let publicKey: KeyObject;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stirgate-signer-'));
    pki = await createDevPki(dir);
    const m = loadSigningMaterial({ privateKeyPem: pki.spKeyPem, certificatePem: pki.spChainPem });
    signer = new Signer({ privateKey: m.privateKey, x5u: X5U, clock: () => NOW_MS, countryCode: '1' });
    publicKey = new X509Certificate(pki.spCertPem).publicKey;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function signOk(input: Parameters<Signer['sign']>[0]): Promise<Extract<SignResult, { ok: true }>> {
    const r = await signer.sign(input);
    if (!r.ok) throw new Error(`sign failed: ${r.code}`);
    return r;
  }

  it('produces a JWS that jose verifies with the SP public key; claims equal the input', async () => {
    const r = await signOk({
      attest: 'A',
      origTn: '+1 (202) 555-0100',
      destTns: ['2025550199'],
      origid: ORIGID,
    });
    const { payload, protectedHeader } = await compactVerify(r.jws, publicKey, { algorithms: ['ES256'] });
    expect(protectedHeader).toEqual({ alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u: X5U });
    expect(Object.keys(decodeProtectedHeader(r.jws)).sort()).toEqual(['alg', 'ppt', 'typ', 'x5u']);
    expect(JSON.parse(Buffer.from(payload).toString())).toEqual({
      attest: 'A',
      dest: { tn: ['12025550199'] },
      iat: 1_700_000_000,
      orig: { tn: '12025550100' },
      origid: ORIGID,
    });
    // Exact bytes of the payload: canonical order, integer iat.
    expect(Buffer.from(payload).toString()).toBe(
      `{"attest":"A","dest":{"tn":["12025550199"]},"iat":1700000000,"orig":{"tn":"12025550100"},"origid":"${ORIGID}"}`,
    );
    expect(r.claims.iat).toBe(1_700_000_000);
  });

  it('signature is raw r||s (64 bytes), all sections unpadded base64url', async () => {
    const r = await signOk({ attest: 'B', origTn: '12025550100', destTns: ['12025550199'], origid: ORIGID });
    const d = decodeJws(r.jws);
    expect(d.ok && d.signature.length).toBe(64);
    expect(r.jws).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });

  it('Identity header is the full form and parses back', async () => {
    const r = await signOk({
      attest: 'C',
      origTn: '12025550100',
      destTns: ['12025550199', '+44 20 7946 0958'],
      origid: ORIGID,
    });
    expect(r.identity).toBe(`${r.jws};info=<${X5U}>;alg=ES256;ppt=shaken`);
    const p = parseIdentityHeader(r.identity);
    expect('error' in p ? undefined : p.info).toBe(X5U);
    expect(r.claims.dest.tn).toEqual(['12025550199', '442079460958']);
  });

  it('64 concurrent signatures all verify', async () => {
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        signOk({
          attest: 'A',
          origTn: `1202555${String(1000 + i)}`,
          destTns: ['12025550199'],
          origid: ORIGID,
        }),
      ),
    );
    for (const [i, r] of results.entries()) {
      const { payload } = await compactVerify(r.jws, publicKey);
      expect(JSON.parse(Buffer.from(payload).toString()).orig.tn).toBe(`1202555${1000 + i}`);
    }
  });

  it.each([
    [{ origTn: 'alice' }, 'no_calling_number'],
    [{ origTn: 'anonymous' }, 'no_calling_number'],
    [{ origTn: '+1234567890123456' }, 'no_calling_number'],
    [{ destTns: [] }, 'no_called_number'],
    [{ destTns: ['12025550199', 'bob'] }, 'no_called_number'],
    [{ attest: 'D' }, 'invalid_input'],
    [{ origid: '' }, 'invalid_input'],
  ])('fails with a typed result for %j -> %s', async (patch, code) => {
    const input = { attest: 'A', origTn: '12025550100', destTns: ['12025550199'], origid: ORIGID, ...patch };
    const r = await signer.sign(input as Parameters<Signer['sign']>[0]);
    expect(r).toEqual({ ok: false, code });
  });

  it('signSync returns typed failures without throwing and signs on the calling thread', () => {
    expect(signer.signSync({ attest: 'A', origTn: 'x', destTns: ['1'], origid: ORIGID })).toEqual({
      ok: false,
      code: 'no_calling_number',
    });
    const r = signer.signSync({
      attest: 'A',
      origTn: '12025550100',
      destTns: ['12025550199'],
      origid: ORIGID,
    });
    expect(r.ok && r.identity.endsWith(';info=<' + X5U + '>;alg=ES256;ppt=shaken')).toBe(true);
  });

  it('constructor refuses keys that cannot sign ES256', () => {
    const ed = generateKeyPairSync('ed25519').privateKey;
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    expect(() => new Signer({ privateKey: ed, x5u: X5U })).toThrow(StirConfigError);
    expect(() => new Signer({ privateKey: p384, x5u: X5U })).toThrow(StirConfigError);
  });

  it('publishes sign events only when subscribed', async () => {
    const events: SignEvent[] = [];
    const onEvent = (m: unknown): void => {
      events.push(m as SignEvent);
    };
    diagnostics_channel.subscribe('stirgate:stir:sign', onEvent);
    try {
      await signer.sign({ attest: 'A', origTn: '12025550100', destTns: ['12025550199'], origid: ORIGID });
      await signer.sign({ attest: 'B', origTn: 'alice', destTns: ['12025550199'], origid: ORIGID });
    } finally {
      diagnostics_channel.unsubscribe('stirgate:stir:sign', onEvent);
    }
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ outcome: 'signed', attest: 'A' });
    expect(events[0]!.durationNs).toBeGreaterThan(0);
    expect(events[1]).toMatchObject({ outcome: 'failed', attest: 'B', code: 'no_calling_number' });
    await signer.sign({ attest: 'A', origTn: '12025550100', destTns: ['12025550199'], origid: ORIGID });
    expect(events).toHaveLength(2);
  });
});
