/**
 * TNAuthList certificate extension (RFC 8226 §9, OID id-pe-TNAuthList 1.3.6.1.5.5.7.1.26). A SHAKEN
 * certificate carries exactly one SPC entry (ATIS-1000080 §6.4.1, SHAKEN certificate profile).
 *
 * ```
 * TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry        -- module uses EXPLICIT TAGS
 * TNEntry ::= CHOICE {
 *   spc   [0] ServiceProviderCode,      -- IA5String
 *   range [1] TelephoneNumberRange,     -- SEQUENCE { start TelephoneNumber, count INTEGER (2..MAX), ... }
 *   one   [2] TelephoneNumber }         -- IA5String (SIZE (1..15)) (FROM ("0123456789#*"))
 * ```
 *
 * Read straight from the certificate DER (node's X509Certificate `.raw`) with the small reader in der.ts:
 * no ASN.1 library on the verification path, a few microseconds per certificate.
 */
import type { X509Certificate } from 'node:crypto';
import {
  concatBytes,
  contextConstructed,
  type DerNode,
  DerTag,
  encodeOidValue,
  encodeTlv,
  firstChild,
  nextSibling,
  readAscii,
  readNode,
  readSmallInteger,
  valueEquals,
} from './der.js';

export const TN_AUTH_LIST_OID = '1.3.6.1.5.5.7.1.26';
const TN_AUTH_LIST_OID_VALUE = encodeOidValue(TN_AUTH_LIST_OID);

export interface TnRange {
  readonly start: string;
  readonly count: number;
}

export interface TnAuthList {
  /** The first SPC entry (the one SHAKEN uses); `undefined` when the list holds no SPC. */
  readonly spc: string | undefined;
  /** Every SPC entry in order (ATIS-1000080 expects exactly one). */
  readonly spcs: readonly string[];
  readonly ranges: readonly TnRange[];
  readonly numbers: readonly string[];
}

export type TnAuthListErrorCode = 'absent' | 'malformed';

export type TnAuthListResult =
  | { readonly ok: true; readonly value: TnAuthList }
  | { readonly ok: false; readonly code: TnAuthListErrorCode };

const ABSENT: TnAuthListResult = { ok: false, code: 'absent' };
const MALFORMED: TnAuthListResult = { ok: false, code: 'malformed' };

/**
 * Locate and parse the TNAuthList extension in a DER certificate. `absent` when the certificate has no
 * such extension, `malformed` when the certificate or the extension cannot be read, or when the
 * extension appears twice (RFC 5280 §4.2: at most one instance of an extension).
 */
export function findTnAuthList(certDer: Uint8Array): TnAuthListResult {
  const ext = findExtensionValue(certDer, TN_AUTH_LIST_OID_VALUE);
  if (ext === 'malformed') return MALFORMED;
  if (ext === undefined) return ABSENT;
  const value = parseTnAuthListValue(ext);
  return value ? { ok: true, value } : MALFORMED;
}

/** The TNAuthList of a certificate, or `undefined` when absent or malformed. */
export function readTnAuthList(cert: X509Certificate | Uint8Array): TnAuthList | undefined {
  const der = cert instanceof Uint8Array ? cert : cert.raw;
  const r = findTnAuthList(der);
  return r.ok ? r.value : undefined;
}

/**
 * The extnValue contents (the OCTET STRING's value) of the extension with OID value octets `oidValue`
 * in tbsCertificate.extensions (RFC 5280 §4.1). `undefined` when absent.
 */
export function findExtensionValue(
  certDer: Uint8Array,
  oidValue: Uint8Array,
): Uint8Array | undefined | 'malformed' {
  const cert = readNode(certDer, 0);
  if (!cert || cert.tag !== DerTag.SEQUENCE) return 'malformed';
  const tbs = firstChild(certDer, cert);
  if (!tbs || tbs.tag !== DerTag.SEQUENCE) return 'malformed';
  // tbsCertificate: [0] version, serial, signature, issuer, validity, subject, spki, [1], [2], [3] extensions.
  let node = firstChild(certDer, tbs);
  let extsWrapper: DerNode | undefined;
  while (node) {
    if (node.tag === contextConstructed(3)) {
      extsWrapper = node;
      break;
    }
    node = nextSibling(certDer, tbs, node);
  }
  if (!extsWrapper) return undefined;
  const exts = firstChild(certDer, extsWrapper);
  if (!exts || exts.tag !== DerTag.SEQUENCE) return 'malformed';
  let found: Uint8Array | undefined;
  for (let ext = firstChild(certDer, exts); ext; ext = nextSibling(certDer, exts, ext)) {
    if (ext.tag !== DerTag.SEQUENCE) return 'malformed';
    const id = firstChild(certDer, ext);
    if (!id || id.tag !== DerTag.OID) return 'malformed';
    if (!valueEquals(certDer, id, oidValue)) continue;
    // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    let v = nextSibling(certDer, ext, id);
    if (v && v.tag === DerTag.BOOLEAN) v = nextSibling(certDer, ext, v);
    if (!v || v.tag !== DerTag.OCTET_STRING) return 'malformed';
    if (found) return 'malformed';
    found = certDer.subarray(v.valueStart, v.end);
  }
  return found;
}

/** Parse the DER of a TNAuthorizationList (the extension's extnValue contents). */
export function parseTnAuthListValue(der: Uint8Array): TnAuthList | undefined {
  const list = readNode(der, 0);
  if (!list || list.tag !== DerTag.SEQUENCE || list.end !== der.length || list.length === 0) return undefined;
  const spcs: string[] = [];
  const ranges: TnRange[] = [];
  const numbers: string[] = [];
  for (let e = firstChild(der, list); e; e = nextSibling(der, list, e)) {
    switch (e.tag) {
      case 0xa0: // spc [0] EXPLICIT IA5String
      case 0x80: {
        // 0x80: IMPLICIT tagging seen in some deployed certificates; read the same way.
        const s = taggedString(der, e);
        if (s === undefined || s.length === 0) return undefined;
        spcs.push(s);
        break;
      }
      case 0xa1: {
        // range [1] EXPLICIT SEQUENCE { start, count }; tolerate IMPLICIT (start/count directly inside).
        let seq = firstChild(der, e);
        if (seq && seq.tag === DerTag.SEQUENCE) {
          if (seq.end !== e.end) return undefined;
        } else {
          seq = e;
        }
        const start = firstChild(der, seq);
        if (!start || start.tag !== DerTag.IA5_STRING) return undefined;
        const count = nextSibling(der, seq, start);
        if (!count || count.tag !== DerTag.INTEGER) return undefined;
        const n = readSmallInteger(der, count);
        const startTn = readAscii(der, start);
        if (n === undefined || n < 2 || !isTelephoneNumber(startTn)) return undefined;
        ranges.push({ start: startTn, count: n });
        break;
      }
      case 0xa2: // one [2] EXPLICIT TelephoneNumber
      case 0x82: {
        const s = taggedString(der, e);
        if (s === undefined || !isTelephoneNumber(s)) return undefined;
        numbers.push(s);
        break;
      }
      default:
        return undefined;
    }
  }
  if (spcs.length + ranges.length + numbers.length === 0) return undefined;
  return { spc: spcs[0], spcs, ranges, numbers };
}

/** IA5String inside an explicit `[n]` wrapper (constructed tag) or the implicit primitive value itself. */
function taggedString(der: Uint8Array, e: DerNode): string | undefined {
  if ((e.tag & 0x20) === 0) return readAscii(der, e);
  const inner = firstChild(der, e);
  if (!inner || inner.tag !== DerTag.IA5_STRING || inner.end !== e.end) return undefined;
  return readAscii(der, inner);
}

/** RFC 8226 §9: TelephoneNumber ::= IA5String (SIZE (1..15)) (FROM ("0123456789#*")). */
function isTelephoneNumber(s: string): boolean {
  if (s.length < 1 || s.length > 15) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 35 || c === 42)) return false;
  }
  return true;
}

export interface TnAuthListInput {
  readonly spc?: string;
  readonly ranges?: readonly TnRange[];
  readonly numbers?: readonly string[];
}

/** DER of a TNAuthorizationList with EXPLICIT tags, as RFC 8226 §9 specifies (dev PKI, tests). */
export function encodeTnAuthList(input: TnAuthListInput): Uint8Array {
  const ascii = (s: string): Uint8Array => encodeTlv(DerTag.IA5_STRING, Buffer.from(s, 'latin1'));
  const entries: Uint8Array[] = [];
  if (input.spc !== undefined) entries.push(encodeTlv(0xa0, ascii(input.spc)));
  for (const r of input.ranges ?? []) {
    const count = encodeInteger(r.count);
    entries.push(encodeTlv(0xa1, encodeTlv(DerTag.SEQUENCE, concatBytes([ascii(r.start), count]))));
  }
  for (const n of input.numbers ?? []) entries.push(encodeTlv(0xa2, ascii(n)));
  return encodeTlv(DerTag.SEQUENCE, concatBytes(entries));
}

function encodeInteger(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`invalid INTEGER ${n}`);
  const bytes: number[] = [];
  let x = n;
  do {
    bytes.unshift(x % 256);
    x = Math.floor(x / 256);
  } while (x > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return encodeTlv(DerTag.INTEGER, Uint8Array.from(bytes));
}
