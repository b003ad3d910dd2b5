/**
 * Hand-rolled DER for the few X.509 v3 certificates the dev PKI needs (RFC 5280 §4.1), signed with
 * ecdsa-with-SHA256 (RFC 5758 §3.2) through node:crypto. Uses the DER helpers in ../certs/der.ts.
 *
 * Why not @peculiar/x509: under ESM it needs a global `reflect-metadata` polyfill (tsyringe) that is not a
 * dependency of this project, and patching the global `Reflect` from a library module is worse than ~150
 * lines of DER for a fixed certificate shape. Start-up / test code only, never on the call path.
 */
import { createHash, type KeyObject, sign } from 'node:crypto';
import {
  concatBytes,
  DerTag,
  encodeOidValue,
  encodeTlv,
  firstChild,
  nextSibling,
  readNode,
} from '../certs/der.js';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

/** RFC 4514 attribute names this builder accepts in a DN string. */
const NAME_OIDS: Readonly<Record<string, string>> = {
  CN: '2.5.4.3',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
};

/** RFC 5280 §4.2.1.3 KeyUsage bits. */
export const KeyUsage = {
  digitalSignature: 0,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

export interface CertExtension {
  readonly oid: string;
  readonly critical: boolean;
  /** DER of the extension value (the contents of extnValue). */
  readonly value: Uint8Array;
}

export interface CertificateSpec {
  /** DN in RFC 4514 string order, e.g. `CN=SHAKEN 1234, O=Example, C=US` (no escaped commas). */
  readonly subject: string;
  /** Issuer DN string, or the issuer certificate's subject Name DER (exact copy, for chain matching). */
  readonly issuer: string | Uint8Array;
  /** Positive serial number bytes (big-endian). */
  readonly serial: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Subject public key. */
  readonly publicKey: KeyObject;
  /** Issuer private key (EC; signs with SHA-256). */
  readonly signingKey: KeyObject;
  readonly extensions: readonly CertExtension[];
}

const seq = (...parts: Uint8Array[]): Uint8Array => encodeTlv(DerTag.SEQUENCE, concatBytes(parts));
const oid = (dotted: string): Uint8Array => encodeTlv(DerTag.OID, encodeOidValue(dotted));

function integer(bytes: Uint8Array): Uint8Array {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  if (b[0]! & 0x80) b = concatBytes([Uint8Array.of(0), b]);
  return encodeTlv(DerTag.INTEGER, b);
}

/** RFC 5280 §4.1.2.4 Name from an RFC 4514 string (reversed: the string lists the most specific first). */
export function encodeName(dn: string): Uint8Array {
  const rdns = dn
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      const type = rdn.slice(0, eq).trim().toUpperCase();
      const value = rdn.slice(eq + 1).trim();
      const typeOid = NAME_OIDS[type];
      if (eq <= 0 || !typeOid) throw new TypeError(`unsupported DN attribute in ${JSON.stringify(dn)}`);
      // RFC 5280 §4.1.2.4: countryName is PrintableString; others UTF8String.
      const str =
        type === 'C'
          ? encodeTlv(DerTag.PRINTABLE_STRING, Buffer.from(value, 'latin1'))
          : encodeTlv(DerTag.UTF8_STRING, Buffer.from(value, 'utf8'));
      return encodeTlv(DerTag.SET, seq(oid(typeOid), str));
    })
    .reverse();
  return seq(...rdns);
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function encodeTime(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const rest =
    p2(d.getUTCMonth() + 1) +
    p2(d.getUTCDate()) +
    p2(d.getUTCHours()) +
    p2(d.getUTCMinutes()) +
    p2(d.getUTCSeconds()) +
    'Z';
  if (y >= 1950 && y < 2050) return encodeTlv(DerTag.UTC_TIME, Buffer.from(p2(y % 100) + rest, 'latin1'));
  return encodeTlv(DerTag.GENERALIZED_TIME, Buffer.from(String(y).padStart(4, '0') + rest, 'latin1'));
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING contents. */
export function keyIdentifier(publicKey: KeyObject): Uint8Array {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const top = readNode(spki, 0);
  const alg = top && firstChild(spki, top);
  const bits = top && alg && nextSibling(spki, top, alg);
  if (!bits || bits.tag !== DerTag.BIT_STRING) throw new TypeError('cannot read SubjectPublicKeyInfo');
  return createHash('sha1')
    .update(spki.subarray(bits.valueStart + 1, bits.end))
    .digest();
}

/** basicConstraints (RFC 5280 §4.2.1.9). */
export function basicConstraints(ca: boolean, pathLen?: number): CertExtension {
  const parts: Uint8Array[] = [];
  if (ca) parts.push(encodeTlv(DerTag.BOOLEAN, Uint8Array.of(0xff)));
  if (ca && pathLen !== undefined) parts.push(integer(Uint8Array.of(pathLen)));
  return { oid: OID.basicConstraints, critical: true, value: seq(...parts) };
}

/** keyUsage (RFC 5280 §4.2.1.3) as a DER named-bit BIT STRING (trailing zero bits removed). */
export function keyUsage(bits: readonly number[]): CertExtension {
  let v = 0;
  for (const b of bits) v |= 0x8000 >> b;
  let last = -1;
  for (let i = 0; i < 16; i++) if (v & (0x8000 >> i)) last = i;
  const nBytes = last < 8 ? 1 : 2;
  const unused = nBytes * 8 - 1 - last;
  const bytes = nBytes === 1 ? [v >> 8] : [v >> 8, v & 0xff];
  return {
    oid: OID.keyUsage,
    critical: true,
    value: encodeTlv(DerTag.BIT_STRING, Uint8Array.from([unused, ...bytes])),
  };
}

export function subjectKeyIdentifier(publicKey: KeyObject): CertExtension {
  return {
    oid: OID.subjectKeyIdentifier,
    critical: false,
    value: encodeTlv(DerTag.OCTET_STRING, keyIdentifier(publicKey)),
  };
}

/** authorityKeyIdentifier with keyIdentifier [0] IMPLICIT (RFC 5280 §4.2.1.1). */
export function authorityKeyIdentifier(issuerPublicKey: KeyObject): CertExtension {
  return {
    oid: OID.authorityKeyIdentifier,
    critical: false,
    value: seq(encodeTlv(0x80, keyIdentifier(issuerPublicKey))),
  };
}

/** DER of a signed certificate. */
export function buildCertificate(spec: CertificateSpec): Buffer {
  const algId = seq(oid(OID.ecdsaWithSha256));
  const exts = spec.extensions.map((e) =>
    seq(
      oid(e.oid),
      ...(e.critical ? [encodeTlv(DerTag.BOOLEAN, Uint8Array.of(0xff))] : []),
      encodeTlv(DerTag.OCTET_STRING, e.value),
    ),
  );
  const tbs = seq(
    encodeTlv(0xa0, integer(Uint8Array.of(2))), // version v3
    integer(spec.serial),
    algId,
    typeof spec.issuer === 'string' ? encodeName(spec.issuer) : spec.issuer,
    seq(encodeTime(spec.notBefore), encodeTime(spec.notAfter)),
    encodeName(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    ...(exts.length > 0 ? [encodeTlv(0xa3, seq(...exts))] : []),
  );
  // ECDSA-Sig-Value (DER) in a BIT STRING with 0 unused bits.
  const signature = sign('sha256', tbs, spec.signingKey);
  return Buffer.from(
    seq(tbs, algId, encodeTlv(DerTag.BIT_STRING, concatBytes([Uint8Array.of(0), signature]))),
  );
}

/** The subject Name DER of a certificate (RFC 5280 §4.1: 6th field of tbsCertificate when v3). */
export function subjectNameDer(certDer: Uint8Array): Uint8Array {
  const cert = readNode(certDer, 0);
  const tbs = cert && firstChild(certDer, cert);
  let node = tbs && firstChild(certDer, tbs);
  if (!tbs || !node) throw new TypeError('cannot read certificate');
  // version [0] is optional; then serial, signature, issuer, validity, subject.
  let index = node.tag === 0xa0 ? 0 : 1;
  while (node && index < 5) {
    node = nextSibling(certDer, tbs, node);
    index++;
  }
  if (!node || node.tag !== DerTag.SEQUENCE) throw new TypeError('cannot read certificate subject');
  return certDer.subarray(node.start, node.end);
}

/** PEM with 64-character lines (RFC 7468 §2). */
export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  return out + `-----END ${label}-----\n`;
}
