import { createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, DerTag, encodeOidValue, encodeTlv } from '../../../../src/stir/certs/der.js';
import { parseCertificates, parseCrlSerials, TrustStore } from '../../../../src/stir/certs/trust.js';
import { subjectNameDer, toPem } from '../../../../src/stir/pki/cert-builder.js';
import {
  createDevPki,
  createRootCa,
  type DevPki,
  issueCertificate,
} from '../../../../src/stir/pki/dev-pki.js';

const DAY = 86_400_000;
let dir: string;
let pki: DevPki;
let trust: TrustStore;
const now = Date.now();
const cert = (pem: string): X509Certificate => new X509Certificate(pem);
const issuer = (): { issuerCertPem: string; issuerKeyPem: string } => ({
  issuerCertPem: pki.intermediatePem!,
  issuerKeyPem: pki.intermediateKeyPem!,
});

const seq = (...parts: Uint8Array[]): Uint8Array => encodeTlv(DerTag.SEQUENCE, concatBytes(parts));
const utcTime = (ms: number): Uint8Array => {
  const iso = new Date(ms).toISOString(); // 2026-11-22T12:00:00.000Z -> 261122120000Z
  const t =
    iso.slice(2, 4) +
    iso.slice(5, 7) +
    iso.slice(8, 10) +
    iso.slice(11, 13) +
    iso.slice(14, 16) +
    iso.slice(17, 19);
  return encodeTlv(DerTag.UTC_TIME, Buffer.from(`${t}Z`, 'latin1'));
};
const integer = (hex: string): Uint8Array => {
  let b = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return encodeTlv(DerTag.INTEGER, b);
};

/** A v2 CRL (RFC 5280 §5.1) from the intermediate, listing `serials` (hex), signed ecdsa-with-SHA256. */
function crlFor(serials: string[]): Uint8Array {
  const alg = seq(encodeTlv(DerTag.OID, encodeOidValue('1.2.840.10045.4.3.2')));
  const entries = serials.map((sn) => seq(integer(sn), utcTime(now - 1000)));
  const tbs = seq(
    integer('01'),
    alg,
    subjectNameDer(cert(pki.intermediatePem!).raw),
    utcTime(now - DAY),
    utcTime(now + DAY),
    ...(entries.length > 0 ? [seq(...entries)] : []),
  );
  const sig = sign('sha256', tbs, createPrivateKey(pki.intermediateKeyPem!));
  return seq(tbs, alg, encodeTlv(DerTag.BIT_STRING, concatBytes([new Uint8Array([0]), sig])));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stirgate-trust-'));
  pki = await createDevPki(dir, { spc: '7777' });
  trust = TrustStore.fromPem(pki.caPem);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('TrustStore.verifyChain', () => {
  it('leaf + intermediate to the root: ok with the SPC', () => {
    const r = trust.verifyChain(cert(pki.spCertPem), [cert(pki.intermediatePem!)], [now]);
    expect(r).toEqual({ ok: true, spc: '7777' });
  });

  it('missing intermediate, or a foreign root: cert_untrusted', async () => {
    expect(trust.verifyChain(cert(pki.spCertPem), [], [now])).toMatchObject({
      ok: false,
      code: 'cert_untrusted',
    });
    const other = await createRootCa({ subject: 'CN=Other, C=US' });
    const leaf = await issueCertificate({ issuerCertPem: other.certPem, issuerKeyPem: other.keyPem });
    expect(trust.verifyChain(cert(leaf.certPem), [cert(other.certPem)], [now])).toMatchObject({
      ok: false,
      code: 'cert_untrusted',
    });
  });

  it('an intermediate with the right name but another key does not chain', async () => {
    const fake = await createRootCa({ subject: cert(pki.intermediatePem!).subject });
    const r = trust.verifyChain(cert(pki.spCertPem), [cert(fake.certPem)], [now]);
    expect(r).toMatchObject({ ok: false, code: 'cert_untrusted' });
  });

  it('an issuer without cA=TRUE is refused (RFC 5280 §4.2.1.9)', async () => {
    const notCa = await issueCertificate({ ...issuer(), spc: '1' });
    const leaf = await issueCertificate({ issuerCertPem: notCa.certPem, issuerKeyPem: notCa.keyPem });
    const r = trust.verifyChain(cert(leaf.certPem), [cert(notCa.certPem), cert(pki.intermediatePem!)], [now]);
    expect(r).toMatchObject({ ok: false, code: 'cert_untrusted' });
  });

  it('a CA certificate as leaf, or a P-384 leaf: cert_untrusted', async () => {
    expect(trust.verifyChain(cert(pki.intermediatePem!), [], [now])).toMatchObject({
      ok: false,
      code: 'cert_untrusted',
      detail: 'leaf is a CA certificate',
    });
    const p384 = await issueCertificate({ ...issuer(), namedCurve: 'P-384' });
    expect(trust.verifyChain(cert(p384.certPem), [cert(pki.intermediatePem!)], [now])).toMatchObject({
      ok: false,
      detail: 'leaf key is not EC P-256',
    });
  });

  it('validity is checked at every instant given (iat and now): cert_expired', async () => {
    // The dev intermediate is valid from now - 1 h; this leaf until now - 30 min.
    const leaf = await issueCertificate({
      ...issuer(),
      notBefore: new Date(now - 2 * DAY),
      notAfter: new Date(now - 1_800_000),
    });
    const inter = [cert(pki.intermediatePem!)];
    expect(trust.verifyChain(cert(leaf.certPem), inter, [now])).toMatchObject({
      ok: false,
      code: 'cert_expired',
    });
    expect(trust.verifyChain(cert(leaf.certPem), inter, [now - 2_700_000])).toEqual({
      ok: true,
      spc: '1234',
    });
    expect(trust.verifyChain(cert(leaf.certPem), inter, [now - 2_700_000, now])).toMatchObject({
      code: 'cert_expired',
    });
    expect(trust.verifyChain(cert(pki.spCertPem), inter, [now - 10 * DAY])).toMatchObject({
      code: 'cert_expired',
      detail: 'not yet valid',
    });
  });

  it('no TNAuthList on the leaf: no_tnauthlist; TNAuthList without SPC too', async () => {
    const noTn = await issueCertificate({ ...issuer(), spc: null });
    expect(trust.verifyChain(cert(noTn.certPem), [cert(pki.intermediatePem!)], [now])).toMatchObject({
      ok: false,
      code: 'no_tnauthlist',
      detail: 'TNAuthList absent',
    });
    const tnOnly = await issueCertificate({ ...issuer(), tnAuthList: { numbers: ['12025550100'] } });
    expect(trust.verifyChain(cert(tnOnly.certPem), [cert(pki.intermediatePem!)], [now])).toMatchObject({
      code: 'no_tnauthlist',
      detail: 'TNAuthList has no SPC',
    });
  });

  it('path length is bounded', () => {
    const shallow = TrustStore.fromPem(pki.caPem, { maxIntermediates: 0 });
    expect(shallow.verifyChain(cert(pki.spCertPem), [cert(pki.intermediatePem!)], [now])).toMatchObject({
      code: 'cert_untrusted',
      detail: 'no trust anchor within the path length limit',
    });
  });

  it('a revoked leaf (CRL, DER or PEM) is cert_untrusted with detail revoked', async () => {
    const serial = cert(pki.spCertPem).serialNumber;
    const der = crlFor(['01', serial]);
    expect(parseCrlSerials(der).has(serial.toUpperCase().replace(/^0+/, ''))).toBe(true);
    const revoking = TrustStore.fromPem(pki.caPem, { crl: der });
    expect(revoking.verifyChain(cert(pki.spCertPem), [cert(pki.intermediatePem!)], [now])).toEqual({
      ok: false,
      code: 'cert_untrusted',
      detail: 'revoked',
    });
    const pem = toPem(der, 'X509 CRL');
    const fromPem = TrustStore.fromPem(pki.caPem, { crl: pem });
    expect(fromPem.verifyChain(cert(pki.spCertPem), [cert(pki.intermediatePem!)], [now])).toMatchObject({
      detail: 'revoked',
    });
    const other = TrustStore.fromPem(pki.caPem, { crl: crlFor(['0a0b']) });
    expect(other.verifyChain(cert(pki.spCertPem), [cert(pki.intermediatePem!)], [now]).ok).toBe(true);
    const empty = TrustStore.fromPem(pki.caPem, { crl: crlFor([]) });
    expect(empty.verifyChain(cert(pki.spCertPem), [cert(pki.intermediatePem!)], [now]).ok).toBe(true);
    expect(() => parseCrlSerials(new Uint8Array([1, 2, 3]))).toThrow(/CRL/);
  });
});

describe('TrustStore loading and prepare', () => {
  it('loads every PEM file from a directory, with a CRL file', async () => {
    const cas = join(dir, 'cas');
    await mkdir(cas);
    const other = await createRootCa({ subject: 'CN=Second Root, C=US' });
    await writeFile(join(cas, 'a.pem'), pki.caPem);
    await writeFile(join(cas, 'b.crt'), other.certPem + pki.caPem);
    await writeFile(join(cas, 'README'), 'ignored');
    const crlFile = join(dir, 'revoked.crl');
    await writeFile(crlFile, crlFor([cert(pki.spCertPem).serialNumber]));
    const store = await TrustStore.fromDirectory(cas, { crlFile });
    expect(store.size).toBe(2);
    expect(store.verifyChain(cert(pki.spCertPem), [cert(pki.intermediatePem!)], [now])).toMatchObject({
      detail: 'revoked',
    });
  });

  it('prepare parses the x5u body once: path, key, SPC, validity window', () => {
    const p = trust.prepare(pki.spChainPem);
    if (!p.ok) throw new Error(p.detail);
    expect(p.cert.path.length).toBe(3);
    expect(p.cert.spc).toBe('7777');
    expect(p.cert.publicKey.asymmetricKeyType).toBe('ec');
    expect(p.cert.notAfterMs).toBe(Date.parse(cert(pki.spCertPem).validTo));
    expect(trust.checkTime(p.cert, [now])).toEqual({ ok: true, spc: '7777' });
  });

  it('parseCertificates: PEM chain, DER, garbage, too many', () => {
    expect(parseCertificates(pki.spChainPem)).toHaveLength(2);
    expect(parseCertificates(cert(pki.spCertPem).raw)).toHaveLength(1);
    expect(parseCertificates('hello')).toEqual({ error: 'no certificate in body' });
    expect(parseCertificates('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toMatchObject(
      {
        error: expect.stringMatching(/^unparseable certificate/),
      },
    );
    expect(parseCertificates(pki.spCertPem.repeat(11))).toEqual({ error: 'more than 10 certificates' });
    expect(() => TrustStore.fromPem('nope')).toThrow(/trust anchor/);
  });
});
