/**
 * Development / test PKI for SHAKEN: an STI-CA root, an optional intermediate, and an SP certificate with
 * the TNAuthList extension, all EC P-256 (ATIS-1000080 §6.4 certificate profiles, simplified).
 *
 * Certificates are hand-rolled DER (./cert-builder.ts) signed with node:crypto; see that file for why not
 * @peculiar/x509. Start-up and test code only, never on the call path; file I/O is async.
 *
 * Not for production: real SP certificates come from an STI-CA via ACME (ATIS-1000080 §6.3).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  encodeTnAuthList,
  readTnAuthList,
  TN_AUTH_LIST_OID,
  type TnAuthListInput,
} from '../certs/tnauthlist.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  type CertExtension,
  KeyUsage,
  keyUsage,
  subjectKeyIdentifier,
  subjectNameDer,
  toPem,
} from './cert-builder.js';

const DAY_MS = 86_400_000;

/** File names inside the PKI directory. */
export const DEV_PKI_FILES = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  intermediate: 'intermediate.pem',
  intermediateKey: 'intermediate-key.pem',
  sp: 'sp.pem',
  spChain: 'sp-chain.pem',
  spKey: 'sp-key.pem',
} as const;

export interface DevPkiOptions {
  /** Service Provider Code put in the SP certificate's TNAuthList (default `1234`). */
  readonly spc?: string;
  /** Base URL the x5u server answers on, e.g. `http://127.0.0.1:8080`; DevPki.x5u is `<base>/sp.pem`. */
  readonly x5uBase?: string;
  /** SP certificate validity (default 365 days). */
  readonly validityDays?: number;
  /** Root validity (default 3650 days). */
  readonly caValidityDays?: number;
  /** Issue the SP certificate from an intermediate CA (default true). */
  readonly intermediate?: boolean;
  /** Clock in ms (default Date.now), for certificates valid in a test's past or future. */
  readonly now?: number;
}

export interface DevPki {
  readonly dir: string;
  /** True when this call generated the files, false when it reused existing ones. */
  readonly created: boolean;
  readonly spc: string;
  /** Absolute paths of the files written. */
  readonly files: {
    readonly ca: string;
    readonly caKey: string;
    readonly sp: string;
    readonly spChain: string;
    readonly spKey: string;
    readonly intermediate?: string;
    readonly intermediateKey?: string;
  };
  readonly caPem: string;
  readonly caKeyPem: string;
  readonly intermediatePem: string | undefined;
  readonly intermediateKeyPem: string | undefined;
  readonly spCertPem: string;
  /** SP certificate followed by the intermediate: what the x5u URL serves. */
  readonly spChainPem: string;
  readonly spKeyPem: string;
  /** `<x5uBase>/sp.pem` when x5uBase was given. */
  readonly x5u: string | undefined;
}

export interface IssueCertificateOptions {
  readonly issuerCertPem: string;
  readonly issuerKeyPem: string;
  /** Distinguished name (default `CN=SHAKEN <spc>, O=Stirgate Dev SP, C=US`). */
  readonly subject?: string;
  /** SPC for the TNAuthList; `null` issues a certificate without the extension (default `1234`). */
  readonly spc?: string | null;
  /** Full TNAuthList content instead of just an SPC. */
  readonly tnAuthList?: TnAuthListInput;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Issue a CA certificate (intermediate) instead of an end-entity one. */
  readonly ca?: boolean;
  /** Key type of the new certificate (default P-256; P-384 for negative tests). */
  readonly namedCurve?: 'P-256' | 'P-384';
}

export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

function serial(): Uint8Array {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x40; // positive and minimal INTEGER (RFC 5280 §4.1.2.2)
  return b;
}

function generateKeys(
  namedCurve: 'P-256' | 'P-384' = 'P-256',
): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'ec',
      { namedCurve: namedCurve === 'P-256' ? 'prime256v1' : 'secp384r1' },
      (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKey, privateKey })),
    );
  });
}

function keyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** Self-signed STI-CA root (CA:true, keyCertSign|cRLSign). */
export async function createRootCa(
  opts: { readonly subject?: string; readonly notBefore?: Date; readonly notAfter?: Date } = {},
): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const notBefore = opts.notBefore ?? new Date(Date.now() - 3_600_000);
  const subject = opts.subject ?? 'CN=Stirgate Dev STI-CA, O=Stirgate Dev, C=US';
  const der = buildCertificate({
    subject,
    issuer: subject,
    serial: serial(),
    notBefore,
    notAfter: opts.notAfter ?? new Date(notBefore.getTime() + 3650 * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      basicConstraints(true),
      keyUsage([KeyUsage.keyCertSign, KeyUsage.cRLSign]),
      subjectKeyIdentifier(keys.publicKey),
    ],
  });
  return { certPem: toPem(der, 'CERTIFICATE'), keyPem: keyPem(keys.privateKey) };
}

/**
 * Issue a certificate signed by `issuer*Pem`. End-entity certificates get keyUsage digitalSignature
 * (critical) and, unless `spc: null`, the TNAuthList extension (non-critical: RFC 5280 §4.2 verifiers
 * reject unknown critical extensions, and generic X.509 stacks do not know TNAuthList).
 */
export async function issueCertificate(opts: IssueCertificateOptions): Promise<IssuedCertificate> {
  const issuerCert = new X509Certificate(opts.issuerCertPem);
  const issuerKey = createPrivateKey(opts.issuerKeyPem);
  const keys = await generateKeys(opts.namedCurve);
  const spc = opts.spc === undefined ? '1234' : opts.spc;
  const notBefore = opts.notBefore ?? new Date(Date.now() - 3_600_000);
  const extensions: CertExtension[] = [];
  if (opts.ca) {
    extensions.push(basicConstraints(true, 0), keyUsage([KeyUsage.keyCertSign, KeyUsage.cRLSign]));
  } else {
    extensions.push(basicConstraints(false), keyUsage([KeyUsage.digitalSignature]));
    const tnInput = opts.tnAuthList ?? (spc === null ? undefined : { spc });
    // RFC 8226 §9 TNAuthList, ATIS-1000080 §6.4.1.
    if (tnInput)
      extensions.push({ oid: TN_AUTH_LIST_OID, critical: false, value: encodeTnAuthList(tnInput) });
  }
  extensions.push(subjectKeyIdentifier(keys.publicKey), authorityKeyIdentifier(createPublicKey(issuerKey)));
  const der = buildCertificate({
    subject:
      opts.subject ??
      (opts.ca
        ? 'CN=Stirgate Dev STI-CA Intermediate, O=Stirgate Dev, C=US'
        : `CN=SHAKEN ${spc ?? 'none'}, O=Stirgate Dev SP, C=US`),
    issuer: subjectNameDer(issuerCert.raw),
    serial: serial(),
    notBefore,
    notAfter: opts.notAfter ?? new Date(notBefore.getTime() + 365 * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: issuerKey,
    extensions,
  });
  return { certPem: toPem(der, 'CERTIFICATE'), keyPem: keyPem(keys.privateKey) };
}

function ensureTrailingNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : pem + '\n';
}

function x5uFor(base: string | undefined): string | undefined {
  if (base === undefined) return undefined;
  return base.replace(/\/+$/, '') + '/' + DEV_PKI_FILES.sp;
}

/** Generate a fresh dev PKI into `dir` (created if missing), overwriting the files it names. */
export async function createDevPki(dir: string, opts: DevPkiOptions = {}): Promise<DevPki> {
  const spc = opts.spc ?? '1234';
  const now = opts.now ?? Date.now();
  const notBefore = new Date(now - 3_600_000);
  const root = await createRootCa({
    notBefore,
    notAfter: new Date(now + (opts.caValidityDays ?? 3650) * DAY_MS),
  });
  const useIntermediate = opts.intermediate ?? true;
  const inter = useIntermediate
    ? await issueCertificate({
        issuerCertPem: root.certPem,
        issuerKeyPem: root.keyPem,
        ca: true,
        notBefore,
        notAfter: new Date(now + (opts.caValidityDays ?? 3650) * DAY_MS),
      })
    : undefined;
  const issuer = inter ?? root;
  const sp = await issueCertificate({
    issuerCertPem: issuer.certPem,
    issuerKeyPem: issuer.keyPem,
    spc,
    notBefore,
    notAfter: new Date(now + (opts.validityDays ?? 365) * DAY_MS),
  });
  const caPem = ensureTrailingNewline(root.certPem);
  const spCertPem = ensureTrailingNewline(sp.certPem);
  const intermediatePem = inter ? ensureTrailingNewline(inter.certPem) : undefined;
  const spChainPem = spCertPem + (intermediatePem ?? '');
  await mkdir(dir, { recursive: true });
  const p = (name: string): string => join(dir, name);
  const writes: Promise<void>[] = [
    writeFile(p(DEV_PKI_FILES.ca), caPem),
    writeFile(p(DEV_PKI_FILES.caKey), ensureTrailingNewline(root.keyPem), { mode: 0o600 }),
    writeFile(p(DEV_PKI_FILES.sp), spCertPem),
    writeFile(p(DEV_PKI_FILES.spChain), spChainPem),
    writeFile(p(DEV_PKI_FILES.spKey), ensureTrailingNewline(sp.keyPem), { mode: 0o600 }),
  ];
  if (inter && intermediatePem) {
    writes.push(
      writeFile(p(DEV_PKI_FILES.intermediate), intermediatePem),
      writeFile(p(DEV_PKI_FILES.intermediateKey), ensureTrailingNewline(inter.keyPem), { mode: 0o600 }),
    );
  }
  await Promise.all(writes);
  return {
    dir,
    created: true,
    spc,
    files: {
      ca: p(DEV_PKI_FILES.ca),
      caKey: p(DEV_PKI_FILES.caKey),
      sp: p(DEV_PKI_FILES.sp),
      spChain: p(DEV_PKI_FILES.spChain),
      spKey: p(DEV_PKI_FILES.spKey),
      ...(inter
        ? { intermediate: p(DEV_PKI_FILES.intermediate), intermediateKey: p(DEV_PKI_FILES.intermediateKey) }
        : {}),
    },
    caPem,
    caKeyPem: ensureTrailingNewline(root.keyPem),
    intermediatePem,
    intermediateKeyPem: inter ? ensureTrailingNewline(inter.keyPem) : undefined,
    spCertPem,
    spChainPem,
    spKeyPem: ensureTrailingNewline(sp.keyPem),
    x5u: x5uFor(opts.x5uBase),
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reuse the PKI in `dir` when its required files (ca.pem, ca-key.pem, sp.pem, sp-chain.pem, sp-key.pem)
 * exist, else create one. Options other than x5uBase apply only when creating.
 */
export async function loadOrCreateDevPki(dir: string, opts: DevPkiOptions = {}): Promise<DevPki> {
  const p = (name: string): string => join(dir, name);
  const required = [
    DEV_PKI_FILES.ca,
    DEV_PKI_FILES.caKey,
    DEV_PKI_FILES.sp,
    DEV_PKI_FILES.spChain,
    DEV_PKI_FILES.spKey,
  ];
  const present = await Promise.all(required.map((f) => exists(p(f))));
  if (!present.every(Boolean)) return createDevPki(dir, opts);
  const [caPem, caKeyPem, spCertPem, spChainPem, spKeyPem] = await Promise.all(
    required.map((f) => readFile(p(f), 'utf8')),
  );
  const hasInter =
    (await exists(p(DEV_PKI_FILES.intermediate))) && (await exists(p(DEV_PKI_FILES.intermediateKey)));
  const [intermediatePem, intermediateKeyPem] = hasInter
    ? await Promise.all([
        readFile(p(DEV_PKI_FILES.intermediate), 'utf8'),
        readFile(p(DEV_PKI_FILES.intermediateKey), 'utf8'),
      ])
    : [undefined, undefined];
  const spc = readTnAuthList(new X509Certificate(spCertPem!))?.spc ?? '';
  return {
    dir,
    created: false,
    spc,
    files: {
      ca: p(DEV_PKI_FILES.ca),
      caKey: p(DEV_PKI_FILES.caKey),
      sp: p(DEV_PKI_FILES.sp),
      spChain: p(DEV_PKI_FILES.spChain),
      spKey: p(DEV_PKI_FILES.spKey),
      ...(hasInter
        ? { intermediate: p(DEV_PKI_FILES.intermediate), intermediateKey: p(DEV_PKI_FILES.intermediateKey) }
        : {}),
    },
    caPem: caPem!,
    caKeyPem: caKeyPem!,
    intermediatePem,
    intermediateKeyPem,
    spCertPem: spCertPem!,
    spChainPem: spChainPem!,
    spKeyPem: spKeyPem!,
    x5u: x5uFor(opts.x5uBase),
  };
}
