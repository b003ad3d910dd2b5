import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  children,
  concatBytes,
  DerTag,
  encodeOidValue,
  encodeTlv,
  readNode,
  readOid,
  readSmallInteger,
} from '../../../../src/stir/certs/der.js';
import {
  encodeTnAuthList,
  findTnAuthList,
  parseTnAuthListValue,
  readTnAuthList,
} from '../../../../src/stir/certs/tnauthlist.js';
import { createDevPki, type DevPki, issueCertificate } from '../../../../src/stir/pki/dev-pki.js';

describe('der reader (X.690)', () => {
  it('reads short and long form lengths', () => {
    const short = Uint8Array.of(0x04, 0x02, 0xaa, 0xbb);
    expect(readNode(short, 0)).toEqual({ tag: 4, start: 0, valueStart: 2, length: 2, end: 4 });
    const long = concatBytes([Uint8Array.of(0x04, 0x82, 0x01, 0x00), new Uint8Array(256)]);
    expect(readNode(long, 0)).toMatchObject({ valueStart: 4, length: 256, end: 260 });
    expect(encodeTlv(0x04, new Uint8Array(256)).subarray(0, 4)).toEqual(
      Uint8Array.of(0x04, 0x82, 0x01, 0x00),
    );
  });

  it.each([
    [[0x04], 'truncated header'],
    [[0x04, 0x05, 0x00], 'value runs past the end'],
    [[0x30, 0x80, 0x00, 0x00], 'indefinite length'],
    [[0x1f, 0x01, 0x00], 'high tag number'],
    [[0x04, 0x85, 1, 1, 1, 1, 1], 'length of 5 octets'],
    [[0x04, 0x82, 0x01], 'truncated long length'],
  ])('rejects %j (%s)', (bytes) => {
    expect(readNode(Uint8Array.from(bytes), 0)).toBeUndefined();
  });

  it('children must exactly fill the parent', () => {
    const ok = encodeTlv(
      DerTag.SEQUENCE,
      concatBytes([encodeTlv(2, Uint8Array.of(1)), encodeTlv(2, Uint8Array.of(2))]),
    );
    const parent = readNode(ok, 0)!;
    expect(children(ok, parent)?.map((c) => readSmallInteger(ok, c))).toEqual([1, 2]);
    const bad = Uint8Array.of(0x30, 0x04, 0x02, 0x01, 0x01, 0x02);
    expect(children(bad, readNode(bad, 0)!)).toBeUndefined();
  });

  it('encodes and reads OIDs', () => {
    const v = encodeOidValue('1.3.6.1.5.5.7.1.26');
    expect(Buffer.from(v).toString('hex')).toBe('2b060105050701 1a'.replace(' ', ''));
    const tlv = encodeTlv(DerTag.OID, v);
    expect(readOid(tlv, readNode(tlv, 0)!)).toBe('1.3.6.1.5.5.7.1.26');
    const big = encodeTlv(DerTag.OID, encodeOidValue('2.999.1234567'));
    expect(readOid(big, readNode(big, 0)!)).toBe('2.999.1234567');
  });
});

describe('TNAuthList (RFC 8226 §9)', () => {
  let dir: string;
  let pki: DevPki;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stirgate-tnal-'));
    pki = await createDevPki(dir, { spc: '567J' });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the SPC from the dev PKI SP certificate', () => {
    const cert = new X509Certificate(pki.spCertPem);
    expect(readTnAuthList(cert)).toEqual({ spc: '567J', spcs: ['567J'], ranges: [], numbers: [] });
    expect(readTnAuthList(cert.raw)?.spc).toBe('567J');
  });

  it('absent on a CA certificate and on a certificate issued without it', async () => {
    expect(findTnAuthList(new X509Certificate(pki.caPem).raw)).toEqual({ ok: false, code: 'absent' });
    const noExt = await issueCertificate({ issuerCertPem: pki.caPem, issuerKeyPem: pki.caKeyPem, spc: null });
    expect(findTnAuthList(new X509Certificate(noExt.certPem).raw)).toEqual({ ok: false, code: 'absent' });
    expect(readTnAuthList(new X509Certificate(noExt.certPem))).toBeUndefined();
  });

  it('reads ranges and single numbers', async () => {
    const c = await issueCertificate({
      issuerCertPem: pki.caPem,
      issuerKeyPem: pki.caKeyPem,
      tnAuthList: {
        spc: '1234',
        ranges: [{ start: '12025550100', count: 100 }],
        numbers: ['12025550999', '*67#'],
      },
    });
    expect(readTnAuthList(new X509Certificate(c.certPem))).toEqual({
      spc: '1234',
      spcs: ['1234'],
      ranges: [{ start: '12025550100', count: 100 }],
      numbers: ['12025550999', '*67#'],
    });
  });

  it('hand-written DER of the value, explicit tags', () => {
    // SEQUENCE { [0] { IA5String "1234" } }
    const der = Uint8Array.of(0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, 0x31, 0x32, 0x33, 0x34);
    expect(Buffer.from(encodeTnAuthList({ spc: '1234' })).equals(Buffer.from(der))).toBe(true);
    expect(parseTnAuthListValue(der)?.spc).toBe('1234');
  });

  it('tolerates implicit tagging of spc', () => {
    const der = Uint8Array.of(0x30, 0x06, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34);
    expect(parseTnAuthListValue(der)?.spc).toBe('1234');
  });

  it.each([
    [[0x30, 0x00], 'empty list (SIZE 1..MAX)'],
    [[0x30, 0x03, 0xa3, 0x01, 0x00], 'unknown choice [3]'],
    [[0x30, 0x06, 0xa0, 0x04, 0x0c, 0x02, 0x31, 0x32], 'spc not IA5String'],
    [[0x30, 0x07, 0xa2, 0x05, 0x16, 0x03, 0x31, 0x41, 0x32], 'number with a letter'],
    [[0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, 0x31, 0x32, 0x33], 'truncated'],
    [[0x30, 0x02, 0xa0, 0x00, 0x00], 'trailing bytes after the list'],
  ])('malformed value %j (%s)', (bytes) => {
    expect(parseTnAuthListValue(Uint8Array.from(bytes))).toBeUndefined();
  });

  it('malformed certificate bytes are reported, not thrown', () => {
    expect(findTnAuthList(Uint8Array.of(0x30, 0x03, 0x02, 0x01))).toEqual({ ok: false, code: 'malformed' });
    expect(findTnAuthList(new Uint8Array(0))).toEqual({ ok: false, code: 'malformed' });
    const raw = new X509Certificate(pki.spCertPem).raw;
    for (let cut = 0; cut < raw.length; cut += 7) {
      expect(() => findTnAuthList(raw.subarray(0, cut))).not.toThrow();
    }
  });

  it('takes microseconds', () => {
    const raw = new X509Certificate(pki.spCertPem).raw;
    const n = 20_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) findTnAuthList(raw);
    const perCallUs = Number(process.hrtime.bigint() - t0) / n / 1000;
    // Measured around 1 µs; the bound leaves room for slow CI machines.
    expect(perCallUs).toBeLessThan(50);
  });
});
