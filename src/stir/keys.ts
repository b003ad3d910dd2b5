/**
 * Signing material for the authentication service, checked once at start-up so a bad key or
 * certificate fails the boot with a stable code instead of producing PASSporTs every verifier rejects.
 *
 * Checks (ATIS-1000074 §5.3.1 ES256 only; ATIS-1000080 §6.4.1 SHAKEN certificate profile):
 * PEM readable, EC key on P-256, key matches the certificate's public key, certificate valid now,
 * TNAuthList extension (RFC 8226 §9) present with an SPC.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { StirgateError } from '../errors.js';
import { readTnAuthList, type TnAuthList } from './certs/tnauthlist.js';

export type StirConfigErrorCode =
  | 'bad_pem'
  | 'key_not_p256'
  | 'key_cert_mismatch'
  | 'no_tnauthlist'
  | 'cert_expired'
  | 'cert_not_yet_valid';

/** Start-up configuration error of the STIR core; branch on `code`. */
export class StirConfigError extends StirgateError<StirConfigErrorCode> {}

export interface SigningMaterial {
  readonly privateKey: KeyObject;
  /** The SP (leaf) certificate. */
  readonly certificate: X509Certificate;
  /** Certificates after the leaf in `certificatePem` (intermediates), in order. */
  readonly intermediates: readonly X509Certificate[];
  readonly tnAuthList: TnAuthList;
  /** The SPC from the TNAuthList. */
  readonly spc: string;
  readonly notAfter: Date;
}

export interface SigningMaterialInput {
  readonly privateKeyPem: string;
  /** SP certificate PEM, optionally followed by intermediates (the body the x5u URL serves). */
  readonly certificatePem: string;
  /** Current time in ms (default Date.now()); for validity checks. */
  readonly now?: number;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The PEM CERTIFICATE blocks of `pem`, in order (RFC 7468 §5). */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(CERT_BLOCK) ?? [];
}

/** True when `key` is an EC key on NIST P-256 (ES256, RFC 7518 §3.4). */
export function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/** Load and check the signing key and certificate; throws StirConfigError with a stable code. */
export function loadSigningMaterial(input: SigningMaterialInput): SigningMaterial {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: input.privateKeyPem, format: 'pem' });
  } catch (cause) {
    // GAP(RFC 7468 §11): encrypted private keys (ENCRYPTED PRIVATE KEY, passphrase) are not supported.
    throw new StirConfigError('bad_pem', 'signing key: cannot read the private key PEM', { cause });
  }
  if (!isP256(privateKey)) {
    throw new StirConfigError(
      'key_not_p256',
      `signing key: ES256 needs an EC P-256 key, got ${privateKey.asymmetricKeyType}` +
        (privateKey.asymmetricKeyDetails?.namedCurve ? ` ${privateKey.asymmetricKeyDetails.namedCurve}` : ''),
    );
  }
  const blocks = splitPemCertificates(input.certificatePem);
  const certs: X509Certificate[] = [];
  try {
    for (const b of blocks) certs.push(new X509Certificate(b));
  } catch (cause) {
    throw new StirConfigError('bad_pem', 'signing certificate: cannot read a certificate PEM block', {
      cause,
    });
  }
  const certificate = certs[0];
  if (!certificate)
    throw new StirConfigError('bad_pem', 'signing certificate: no CERTIFICATE block in the PEM');
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new StirConfigError(
      'key_cert_mismatch',
      `signing key does not match the public key of certificate ${certificate.subject.replace(/\n/g, ', ')}`,
    );
  }
  const now = input.now ?? Date.now();
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (now > notAfter.getTime()) {
    throw new StirConfigError('cert_expired', `signing certificate expired at ${notAfter.toISOString()}`);
  }
  if (now < notBefore.getTime()) {
    throw new StirConfigError(
      'cert_not_yet_valid',
      `signing certificate not valid before ${notBefore.toISOString()}`,
    );
  }
  // RFC 8226 §9 / ATIS-1000080 §6.4.1: a SHAKEN certificate names its SPC in the TNAuthList.
  const tnAuthList = readTnAuthList(certificate);
  if (!tnAuthList || tnAuthList.spc === undefined) {
    throw new StirConfigError(
      'no_tnauthlist',
      'signing certificate has no TNAuthList extension (1.3.6.1.5.5.7.1.26) with an SPC',
    );
  }
  // GAP(ATIS-1000080 §6.4.1): keyUsage digitalSignature and the SHAKEN certificate policy are not checked.
  return {
    privateKey,
    certificate,
    intermediates: certs.slice(1),
    tnAuthList,
    spc: tnAuthList.spc,
    notAfter,
  };
}
