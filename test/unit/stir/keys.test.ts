import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningMaterial, StirConfigError, splitPemCertificates } from '../../../src/stir/keys.js';
import { createDevPki, type DevPki, issueCertificate } from '../../../src/stir/pki/dev-pki.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof StirConfigError) return e.code;
    throw e;
  }
  return undefined;
}

describe('loadSigningMaterial', () => {
  let dir: string;
  let pki: DevPki;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stirgate-keys-'));
    pki = await createDevPki(dir, { spc: '1234' });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the dev PKI SP key and chain', () => {
    const m = loadSigningMaterial({ privateKeyPem: pki.spKeyPem, certificatePem: pki.spChainPem });
    expect(m.spc).toBe('1234');
    expect(m.intermediates).toHaveLength(1);
    expect(m.privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(m.notAfter.getTime()).toBeGreaterThan(Date.now());
  });

  it('splits PEM chains', () => {
    expect(splitPemCertificates(pki.spChainPem)).toHaveLength(2);
    expect(splitPemCertificates('junk')).toEqual([]);
  });

  it('bad_pem: unreadable key, no certificate, broken certificate', () => {
    expect(codeOf(() => loadSigningMaterial({ privateKeyPem: 'nope', certificatePem: pki.spCertPem }))).toBe(
      'bad_pem',
    );
    expect(codeOf(() => loadSigningMaterial({ privateKeyPem: pki.spKeyPem, certificatePem: '' }))).toBe(
      'bad_pem',
    );
    const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(codeOf(() => loadSigningMaterial({ privateKeyPem: pki.spKeyPem, certificatePem: broken }))).toBe(
      'bad_pem',
    );
  });

  it('key_not_p256: P-384 and RSA keys', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expect(
      codeOf(() => loadSigningMaterial({ privateKeyPem: p384 as string, certificatePem: pki.spCertPem })),
    ).toBe('key_not_p256');
    expect(
      codeOf(() => loadSigningMaterial({ privateKeyPem: rsa as string, certificatePem: pki.spCertPem })),
    ).toBe('key_not_p256');
  });

  it('key_cert_mismatch: another P-256 key', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expect(
      codeOf(() => loadSigningMaterial({ privateKeyPem: other as string, certificatePem: pki.spCertPem })),
    ).toBe('key_cert_mismatch');
    // The CA key does not match the SP certificate either.
    expect(
      codeOf(() => loadSigningMaterial({ privateKeyPem: pki.caKeyPem, certificatePem: pki.spCertPem })),
    ).toBe('key_cert_mismatch');
  });

  it('no_tnauthlist: certificate without the extension', async () => {
    const c = await issueCertificate({ issuerCertPem: pki.caPem, issuerKeyPem: pki.caKeyPem, spc: null });
    const e = (() => {
      try {
        loadSigningMaterial({ privateKeyPem: c.keyPem, certificatePem: c.certPem });
      } catch (err) {
        return err as StirConfigError;
      }
      return undefined;
    })();
    expect(e?.code).toBe('no_tnauthlist');
    expect(e?.message).toContain('1.3.6.1.5.5.7.1.26');
  });

  it('no_tnauthlist: TNAuthList with numbers but no SPC', async () => {
    const c = await issueCertificate({
      issuerCertPem: pki.caPem,
      issuerKeyPem: pki.caKeyPem,
      tnAuthList: { numbers: ['12025550100'] },
    });
    expect(codeOf(() => loadSigningMaterial({ privateKeyPem: c.keyPem, certificatePem: c.certPem }))).toBe(
      'no_tnauthlist',
    );
  });

  it('cert_expired and cert_not_yet_valid', async () => {
    const day = 86_400_000;
    const expired = await issueCertificate({
      issuerCertPem: pki.caPem,
      issuerKeyPem: pki.caKeyPem,
      notBefore: new Date(Date.now() - 10 * day),
      notAfter: new Date(Date.now() - day),
    });
    expect(
      codeOf(() => loadSigningMaterial({ privateKeyPem: expired.keyPem, certificatePem: expired.certPem })),
    ).toBe('cert_expired');
    const future = await issueCertificate({
      issuerCertPem: pki.caPem,
      issuerKeyPem: pki.caKeyPem,
      notBefore: new Date(Date.now() + day),
      notAfter: new Date(Date.now() + 10 * day),
    });
    expect(
      codeOf(() => loadSigningMaterial({ privateKeyPem: future.keyPem, certificatePem: future.certPem })),
    ).toBe('cert_not_yet_valid');
    // The injected clock decides.
    expect(
      loadSigningMaterial({
        privateKeyPem: future.keyPem,
        certificatePem: future.certPem,
        now: Date.now() + 2 * day,
      }).spc,
    ).toBe('1234');
  });
});
