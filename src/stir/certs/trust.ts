import { type KeyObject, X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { children, DerTag, firstChild, readNode } from './der.js';
import { findTnAuthList } from './tnauthlist.js';

/**
 * STI-CA trust anchors and certificate-path checks for the verification service (RFC 8224 §6.2.3,
 * RFC 8226 §8, ATIS-1000080 §6.3.1, ATIS-1000074 §5.3.1 step 3). Built on node's X509Certificate.
 *
 * The work is split so the cache can keep the expensive part: `prepare` parses the x5u body, builds the
 * path to a trust anchor (signature checks), reads TNAuthList and the leaf key, once per cache fill;
 * `checkTime` is the cheap per-call part (validity at `iat` and now, CRL membership).
 */

export type ChainFailureCode = 'cert_untrusted' | 'cert_expired' | 'no_tnauthlist';

/** A parsed and path-checked x5u body. */
export interface PreparedCert {
  readonly leaf: X509Certificate;
  /** leaf, intermediates..., trust anchor. */
  readonly path: readonly X509Certificate[];
  /** The leaf's public key, ready for crypto.verify. */
  readonly publicKey: KeyObject;
  /** Service provider code from the leaf's TNAuthList (ATIS-1000080 §6.4.1). */
  readonly spc: string;
  /** The leaf's subject, one line (`C=US, O=..., CN=...`): with the SPC, who to ask next in a traceback. */
  readonly subject: string;
  /** Latest notBefore and earliest notAfter over the path, in ms since the epoch. */
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** Normalised serial numbers along the path (for the CRL check). */
  readonly serials: readonly string[];
}

export type PrepareResult =
  | { ok: true; cert: PreparedCert }
  | { ok: false; code: ChainFailureCode | 'cert_fetch_failed'; detail: string };

export type ChainResult = { ok: true; spc?: string } | { ok: false; code: ChainFailureCode; detail: string };

export interface TrustStoreOptions {
  /** Most certificates between leaf and trust anchor (intermediates). ATIS-1000080 paths are short. */
  readonly maxIntermediates?: number;
  /** CRL (DER, or PEM text) listing revoked serial numbers. */
  readonly crl?: Uint8Array | string;
}

const MAX_CERTS_IN_BODY = 10;
const PEM_CERT = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;

/** Split an x5u body (PEM, one or more certificates; or a single DER certificate) into certificates. */
export function parseCertificates(body: string | Uint8Array): X509Certificate[] | { error: string } {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('latin1');
  const out: X509Certificate[] = [];
  try {
    if (!text.includes('-----BEGIN')) {
      // application/pkix-cert (RFC 2585): one DER certificate (a SEQUENCE).
      if (text.charCodeAt(0) !== 0x30) return { error: 'no certificate in body' };
      out.push(new X509Certificate(Buffer.from(text, 'latin1')));
      return out;
    }
    for (const m of text.matchAll(PEM_CERT)) {
      if (out.length >= MAX_CERTS_IN_BODY) return { error: `more than ${MAX_CERTS_IN_BODY} certificates` };
      out.push(new X509Certificate(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
    }
  } catch (err) {
    return { error: `unparseable certificate: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (out.length === 0) return { error: 'no certificate in body' };
  return out;
}

/** Uppercase hex without leading zeros: node's serialNumber and DER INTEGER bytes compare equal. */
function normaliseSerial(hex: string): string {
  const s = hex.toUpperCase().replace(/^0+/, '');
  return s === '' ? '0' : s;
}

/**
 * Revoked serial numbers from a CRL (RFC 5280 §5.1). Only the serials are read.
 * GAP(RFC 5280 §6.3): the CRL signature, issuer and nextUpdate are not checked; the file is operator
 * configuration, and serials are matched without the issuer name.
 */
export function parseCrlSerials(crl: Uint8Array | string): Set<string> {
  let der: Uint8Array;
  if (typeof crl === 'string') {
    const m = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+?)-----END X509 CRL-----/.exec(crl);
    if (!m) throw new TypeError('CRL: no PEM X509 CRL block');
    der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  } else {
    der = crl;
  }
  const bad = (why: string): never => {
    throw new TypeError(`CRL: ${why}`);
  };
  const list = readNode(der, 0);
  if (!list || list.tag !== DerTag.SEQUENCE) bad('not a SEQUENCE');
  const tbs = firstChild(der, list!);
  if (!tbs || tbs.tag !== DerTag.SEQUENCE) bad('no tbsCertList');
  const parts = children(der, tbs!) ?? bad('malformed tbsCertList');
  // TBSCertList: version? signature issuer thisUpdate nextUpdate? revokedCertificates? [0] crlExtensions?
  let i = 0;
  if (parts[i]?.tag === DerTag.INTEGER) i++;
  i += 3; // signature AlgorithmIdentifier, issuer Name, thisUpdate
  const t = parts[i]?.tag;
  if (t === DerTag.UTC_TIME || t === DerTag.GENERALIZED_TIME) i++;
  const serials = new Set<string>();
  const revoked = parts[i];
  if (revoked?.tag !== DerTag.SEQUENCE) return serials;
  for (const entry of children(der, revoked) ?? bad('malformed revokedCertificates')) {
    const serial = entry.tag === DerTag.SEQUENCE ? firstChild(der, entry) : undefined;
    if (!serial || serial.tag !== DerTag.INTEGER) bad('malformed revoked entry');
    serials.add(normaliseSerial(Buffer.from(der.subarray(serial!.valueStart, serial!.end)).toString('hex')));
  }
  return serials;
}

export class TrustStore {
  readonly #bySubject = new Map<string, X509Certificate[]>();
  readonly #maxIntermediates: number;
  readonly #revoked: ReadonlySet<string>;
  #count = 0;

  private constructor(roots: readonly X509Certificate[], opts: TrustStoreOptions) {
    for (const r of roots) {
      const list = this.#bySubject.get(r.subject);
      if (list?.some((x) => x.fingerprint256 === r.fingerprint256)) continue;
      if (list) list.push(r);
      else this.#bySubject.set(r.subject, [r]);
      this.#count++;
    }
    this.#maxIntermediates = opts.maxIntermediates ?? 4;
    this.#revoked = opts.crl !== undefined ? parseCrlSerials(opts.crl) : new Set();
  }

  /** Trust anchors from PEM text(s); each text may hold several certificates. */
  static fromPem(pems: string | readonly string[], opts: TrustStoreOptions = {}): TrustStore {
    const roots: X509Certificate[] = [];
    for (const pem of typeof pems === 'string' ? [pems] : pems) {
      const certs = parseCertificates(pem);
      if (!Array.isArray(certs)) throw new TypeError(`trust anchor: ${certs.error}`);
      roots.push(...certs);
    }
    return new TrustStore(roots, opts);
  }

  /** Every *.pem / *.crt file in `dir` (async, at start). An optional CRL file (DER or PEM). */
  static async fromDirectory(
    dir: string,
    opts: { crlFile?: string; maxIntermediates?: number } = {},
  ): Promise<TrustStore> {
    const names = (await readdir(dir)).filter((n) => /\.(pem|crt|cer)$/i.test(n)).sort();
    const pems = await Promise.all(names.map((n) => readFile(join(dir, n), 'latin1')));
    const crlBytes = opts.crlFile !== undefined ? await readFile(opts.crlFile) : undefined;
    const crl =
      crlBytes === undefined
        ? undefined
        : crlBytes.includes('-----BEGIN')
          ? crlBytes.toString('latin1')
          : crlBytes;
    const storeOpts: TrustStoreOptions = {
      ...(opts.maxIntermediates !== undefined ? { maxIntermediates: opts.maxIntermediates } : {}),
      ...(crl !== undefined ? { crl } : {}),
    };
    return TrustStore.fromPem(pems, storeOpts);
  }

  get size(): number {
    return this.#count;
  }

  #anchorFor(cert: X509Certificate): X509Certificate | undefined {
    for (const root of this.#bySubject.get(cert.issuer) ?? []) {
      if (cert.checkIssued(root) && cert.verify(root.publicKey)) return root;
    }
    return undefined;
  }

  /** Parse an x5u body and build its path (time-independent). Done once per cache fill. */
  prepare(body: string | Uint8Array): PrepareResult {
    const certs = parseCertificates(body);
    if (!Array.isArray(certs)) return { ok: false, code: 'cert_fetch_failed', detail: certs.error };
    return this.preparePath(certs[0]!, certs.slice(1));
  }

  /** Build and check the path from `leaf` to a trust anchor; read TNAuthList and the key. No time checks. */
  preparePath(leaf: X509Certificate, intermediates: readonly X509Certificate[]): PrepareResult {
    // ATIS-1000080 §6.4.1: the STI certificate is an end-entity certificate with a P-256 key.
    if (leaf.ca) return { ok: false, code: 'cert_untrusted', detail: 'leaf is a CA certificate' };
    const key = leaf.publicKey;
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      return { ok: false, code: 'cert_untrusted', detail: 'leaf key is not EC P-256' };
    }
    const path: X509Certificate[] = [leaf];
    const used = new Set<X509Certificate>();
    let cur = leaf;
    for (let depth = 0; ; depth++) {
      const anchor = this.#anchorFor(cur);
      if (anchor) {
        if (anchor.fingerprint256 !== cur.fingerprint256) path.push(anchor);
        break;
      }
      if (depth >= this.#maxIntermediates) {
        return { ok: false, code: 'cert_untrusted', detail: 'no trust anchor within the path length limit' };
      }
      // RFC 5280 §4.2.1.9: an issuer must be a CA (basicConstraints cA = TRUE).
      const next = intermediates.find(
        (c) =>
          !used.has(c) && c.ca && c.subject === cur.issuer && cur.checkIssued(c) && cur.verify(c.publicKey),
      );
      if (!next) return { ok: false, code: 'cert_untrusted', detail: 'does not chain to a trusted STI-CA' };
      used.add(next);
      path.push(next);
      cur = next;
    }
    // RFC 8226 §9 / ATIS-1000080 §6.4.1: the leaf carries a TNAuthList with the SPC.
    // GAP(RFC 9060): delegate certificates with TN ranges and no SPC are refused as no_tnauthlist.
    const tnal = findTnAuthList(leaf.raw);
    if (!tnal.ok) return { ok: false, code: 'no_tnauthlist', detail: `TNAuthList ${tnal.code}` };
    if (tnal.value.spc === undefined)
      return { ok: false, code: 'no_tnauthlist', detail: 'TNAuthList has no SPC' };
    let notBeforeMs = Number.NEGATIVE_INFINITY;
    let notAfterMs = Number.POSITIVE_INFINITY;
    for (const c of path) {
      const nb = Date.parse(c.validFrom);
      const na = Date.parse(c.validTo);
      if (Number.isNaN(nb) || Number.isNaN(na))
        return { ok: false, code: 'cert_untrusted', detail: 'bad validity' };
      notBeforeMs = Math.max(notBeforeMs, nb);
      notAfterMs = Math.min(notAfterMs, na);
    }
    return {
      ok: true,
      cert: {
        leaf,
        path,
        publicKey: key,
        spc: tnal.value.spc,
        subject: leaf.subject.split('\n').join(', '),
        notBeforeMs,
        notAfterMs,
        serials: path.map((c) => normaliseSerial(c.serialNumber)),
      },
    };
  }

  /**
   * Per-call checks on a prepared path: every certificate valid at each instant in `atMs` (RFC 5280 §6.1.3:
   * validity at the time of use; ATIS-1000074 §5.3.1 checks at `iat` and now), and no serial on the CRL.
   */
  checkTime(cert: PreparedCert, atMs: readonly number[]): ChainResult {
    for (const t of atMs) {
      if (t < cert.notBeforeMs) return { ok: false, code: 'cert_expired', detail: 'not yet valid' };
      if (t > cert.notAfterMs) return { ok: false, code: 'cert_expired', detail: 'expired' };
    }
    if (this.#revoked.size > 0) {
      for (const s of cert.serials) {
        if (this.#revoked.has(s)) return { ok: false, code: 'cert_untrusted', detail: 'revoked' };
      }
    }
    return { ok: true, spc: cert.spc };
  }

  /** Full check in one call: path, TNAuthList, validity at every `atMs`, CRL. */
  verifyChain(
    leaf: X509Certificate,
    intermediates: readonly X509Certificate[],
    atMs: readonly number[],
  ): ChainResult {
    const p = this.preparePath(leaf, intermediates);
    if (!p.ok)
      return {
        ok: false,
        code: p.code === 'cert_fetch_failed' ? 'cert_untrusted' : p.code,
        detail: p.detail,
      };
    return this.checkTime(p.cert, atMs);
  }
}
