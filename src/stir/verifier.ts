/**
 * Verification service core (RFC 8224 §6.2, RFC 8225 §5, RFC 8588, ATIS-1000074 §5.3.1). No SIP: the B2BUA
 * passes the Identity header values, the calling number (P-Asserted-Identity, else From) and the called
 * number(s) (Request-URI user / To) as raw strings; this module canonicalises them with tn.ts.
 *
 * Checks run cheapest first and stop at the first failure (STYLE habit 6):
 *  1. select the ppt=shaken Identity value      -> no_identity / unsupported_ppt / malformed
 *  2. decode the JWS (strict base64url, JSON)    -> malformed
 *  3. header: alg, ppt, typ, x5u                 -> unsupported_alg / malformed / bad_typ / missing_claim
 *  4. claims present with the right JSON types   -> missing_claim / bad_claim
 *  5. freshness of iat                           -> stale / future_iat
 *  6. info vs x5u, x5u URL policy (no I/O)       -> info_mismatch / x5u_disallowed
 *  7. certificate from cache, else fetch         -> x5u_disallowed / cert_fetch_failed / cert_untrusted / no_tnauthlist
 *  8. path validity at iat and now, CRL          -> cert_expired / cert_untrusted
 *  9. ES256 signature over the bytes received    -> bad_signature
 * 10. orig.tn vs calling, dest.tn vs called      -> orig_mismatch / dest_mismatch
 * 11. replay within the freshness window         -> replay
 * `verify` never throws: anything unexpected is `internal_error`.
 */
import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { b64urlEncode } from './base64url.js';
import type { CertCache, CertLookup } from './certs/cert-cache.js';
import type { TrustStore } from './certs/trust.js';
import { checkX5uUrl, type X5uPolicy, type X5uUrlCheck } from './certs/x5u-policy.js';
import type { VerifyCode } from './codes.js';
import { selectShakenIdentity } from './identity-header.js';
import { type Attestation, decodeJws, encodeClaims, type ShakenClaims } from './passport.js';
import type { ReplayStore } from './replay-store.js';
import { stirChannels as channels, type VerifyEvent } from './stir-events.js';
import { canonicalizeTn, type TnOptions } from './tn.js';

export interface VerifierOptions {
  readonly trust: TrustStore;
  readonly cache: CertCache;
  readonly replay: ReplayStore;
  readonly x5uPolicy: X5uPolicy;
  /** Oldest acceptable iat, seconds before now (ATIS-1000074 §5.3.1: 60). */
  readonly maxAgeS?: number;
  /** Newest acceptable iat, seconds after now (clock skew between networks). */
  readonly maxFutureSkewS?: number;
  /** Wall clock, ms since the epoch. */
  readonly clock?: () => number;
  /** Default country code for national numbers (see canonicalizeTn); overridable per call. */
  readonly countryCode?: string;
  /**
   * Where the ES256 check runs. `event_loop` (default): synchronously, ~70-100 µs of CPU and no queue.
   * `threadpool`: on libuv's pool, which the loop does not wait for but which is shared with file I/O and
   * queues under load (docs/performance.md, "Where verification runs").
   */
  readonly signatureCheck?: 'event_loop' | 'threadpool';
}

/**
 * What the caller knows for the compact form (RFC 8224 §4.1, RFC 8225 §7: the payload is rebuilt from the
 * request). SIP carries orig/dest and the Date header, but not the SHAKEN claims `attest`/`origid`
 * (RFC 8588 §6), so a SHAKEN compact form is verifiable only when the caller supplies those too; otherwise
 * it is `malformed` (ATIS-1000074 §5.3.1 requires the full form).
 */
export interface CompactRebuild {
  /** The SIP Date header in ms since the epoch; `iat` is its whole seconds (RFC 8224 §4.1). */
  readonly dateMs?: number;
  readonly attest?: Attestation;
  readonly origid?: string;
  /** Numbers to rebuild from, if not `callingTn` / `calledTns[0]` (raw, canonicalised here). */
  readonly origTn?: string;
  readonly destTns?: readonly string[];
}

export interface VerifyInput {
  /** Every Identity header value of the request, as received. */
  readonly identityValues: readonly string[];
  /** Calling number: user part of P-Asserted-Identity, else From (raw). */
  readonly callingTn: string | undefined;
  /** Called number(s): Request-URI user and/or To user (raw); one match suffices. */
  readonly calledTns: readonly string[];
  readonly countryCode?: string;
  readonly rebuild?: CompactRebuild;
}

export interface VerifyResult {
  readonly code: VerifyCode;
  readonly attest?: Attestation;
  readonly origid?: string;
  readonly x5u?: string;
  /** SPC from the signer's certificate TNAuthList. */
  readonly spc?: string;
  /** The signer's certificate subject (PreparedCert.subject). */
  readonly subject?: string;
  readonly iat?: number;
  /** Whether the certificate came from memory ('hit'), needed a fetch ('miss'), or was not reached. */
  readonly cache: 'hit' | 'miss' | 'none';
  /** Human detail for logs; never branch on it. */
  readonly detail?: string;
}

interface Acc {
  attest?: Attestation;
  origid?: string;
  x5u?: string;
  spc?: string;
  subject?: string;
  iat?: number;
  cache: 'hit' | 'miss' | 'none';
}

/** A verification past its certificate-independent checks (steps 1-6), waiting for steps 7-11. */
interface Verifying {
  readonly input: VerifyInput;
  readonly acc: Acc;
  readonly tnOpts: TnOptions;
  readonly claims: ShakenClaims;
  readonly signingInput: string;
  readonly signature: Buffer;
  /** The clock when the checks began (certificate validity is checked at iat and at this time). */
  readonly now: number;
}

function internalError(err: unknown): VerifyResult {
  return { code: 'internal_error', cache: 'none', detail: err instanceof Error ? err.message : String(err) };
}

/** Publish `channels.verify` for a finished verification that began at `t0` (undefined: nobody listens). */
function published(r: VerifyResult, t0: bigint | undefined): VerifyResult {
  if (t0 !== undefined && channels.verify.hasSubscribers) {
    const ev: VerifyEvent = {
      durationNs: Number(process.hrtime.bigint() - t0),
      code: r.code,
      cache: r.cache,
      attest: r.attest,
    };
    channels.verify.publish(ev);
  }
  return r;
}

function out(code: VerifyCode, acc: Acc, detail?: string): VerifyResult {
  const r: { -readonly [K in keyof VerifyResult]: VerifyResult[K] } = { code, cache: acc.cache };
  if (acc.attest !== undefined) r.attest = acc.attest;
  if (acc.origid !== undefined) r.origid = acc.origid;
  if (acc.x5u !== undefined) r.x5u = acc.x5u;
  if (acc.spc !== undefined) r.spc = acc.spc;
  if (acc.subject !== undefined) r.subject = acc.subject;
  if (acc.iat !== undefined) r.iat = acc.iat;
  if (detail !== undefined) r.detail = detail;
  return r;
}

type ClaimsCheck =
  | { ok: true; claims: ShakenClaims }
  | { ok: false; code: 'missing_claim' | 'bad_claim'; detail: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** RFC 8225 §5 base claims + RFC 8588 §4 SHAKEN claims (ATIS-1000074 §5.2): present, with JSON types. */
export function checkShakenClaims(p: Record<string, unknown>): ClaimsCheck {
  const missing = (name: string): ClaimsCheck => ({ ok: false, code: 'missing_claim', detail: name });
  const bad = (name: string): ClaimsCheck => ({ ok: false, code: 'bad_claim', detail: name });
  const { attest, dest, iat, orig, origid } = p;
  if (attest === undefined) return missing('attest');
  // RFC 8588 §4: "A", "B" or "C".
  if (attest !== 'A' && attest !== 'B' && attest !== 'C') return bad('attest');
  if (dest === undefined) return missing('dest');
  if (!isObject(dest)) return bad('dest');
  // ATIS-1000074 §5.2.2: dest is {"tn": [...]} (RFC 8225 §5.2.1 array form).
  if (dest.tn === undefined) return missing('dest.tn');
  if (!Array.isArray(dest.tn) || dest.tn.length === 0 || !dest.tn.every((t) => typeof t === 'string')) {
    return bad('dest.tn');
  }
  if (iat === undefined) return missing('iat');
  // RFC 8225 §5.1.1: NumericDate, a JSON number (a string "1443208345" is a known trap); whole seconds.
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat) || iat < 0) return bad('iat');
  if (orig === undefined) return missing('orig');
  if (!isObject(orig)) return bad('orig');
  if (orig.tn === undefined) return missing('orig.tn');
  // RFC 8225 §5.2.1: orig.tn is a single string.
  if (typeof orig.tn !== 'string') return bad('orig.tn');
  if (origid === undefined) return missing('origid');
  // ATIS-1000074 §5.2.4: a UUID string; only non-empty string is enforced (format varies in the field).
  if (typeof origid !== 'string' || origid.length === 0) return bad('origid');
  return {
    ok: true,
    claims: { attest, dest: { tn: dest.tn as string[] }, iat, orig: { tn: orig.tn }, origid },
  };
}

/** RFC 7518 §3.4: ES256 signature is R||S, 64 bytes (ieee-p1363), SHA-256. On the calling thread. */
function verifyEs256Sync(signingInput: string, signature: Buffer, key: KeyObject): boolean {
  return cryptoVerify(
    'sha256',
    Buffer.from(signingInput, 'latin1'),
    { key, dsaEncoding: 'ieee-p1363' },
    signature,
  );
}

/** The same check on libuv's threadpool. */
function verifyEs256Pool(signingInput: string, signature: Buffer, key: KeyObject): Promise<boolean> {
  return new Promise((resolve, reject) => {
    cryptoVerify(
      'sha256',
      Buffer.from(signingInput, 'latin1'),
      { key, dsaEncoding: 'ieee-p1363' },
      signature,
      (err, ok) => {
        if (err) reject(err);
        else resolve(ok);
      },
    );
  });
}

export const VERIFIER_DEFAULTS = Object.freeze({ maxAgeS: 60, maxFutureSkewS: 5 });

/** Memoised URL-policy answers: x5u strings repeat per signer, and the check is pure for a fixed policy. */
const URL_CHECK_MEMO_MAX = 256;

export class Verifier {
  readonly #trust: TrustStore;
  readonly #cache: CertCache;
  readonly #replay: ReplayStore;
  readonly #policy: X5uPolicy;
  readonly #maxAgeS: number;
  readonly #maxFutureSkewS: number;
  readonly #clock: () => number;
  readonly #countryCode: string | undefined;
  readonly #signatureOnPool: boolean;
  readonly #urlChecks = new Map<string, X5uUrlCheck>();

  constructor(opts: VerifierOptions) {
    this.#trust = opts.trust;
    this.#cache = opts.cache;
    this.#replay = opts.replay;
    this.#policy = opts.x5uPolicy;
    this.#maxAgeS = opts.maxAgeS ?? VERIFIER_DEFAULTS.maxAgeS;
    this.#maxFutureSkewS = opts.maxFutureSkewS ?? VERIFIER_DEFAULTS.maxFutureSkewS;
    this.#clock = opts.clock ?? Date.now;
    this.#countryCode = opts.countryCode;
    this.#signatureOnPool = opts.signatureCheck === 'threadpool';
  }

  /** Verify one request's Identity. Never rejects. Publishes `channels.verify`. */
  async verify(input: VerifyInput): Promise<VerifyResult> {
    return this.check(input);
  }

  /**
   * The same, answered synchronously when nothing has to wait: the certificate is cached, the signature
   * check runs on the event loop and the replay store answers in place (the default; no promise on the
   * INVITE path). Otherwise a promise, which never rejects.
   */
  check(input: VerifyInput): VerifyResult | Promise<VerifyResult> {
    const t0 = channels.verify.hasSubscribers ? process.hrtime.bigint() : undefined;
    let r: VerifyResult | Promise<VerifyResult>;
    try {
      r = this.#verify(input);
    } catch (err) {
      r = internalError(err);
    }
    if (r instanceof Promise) return r.catch(internalError).then((done) => published(done, t0));
    return published(r, t0);
  }

  #verify(input: VerifyInput): VerifyResult | Promise<VerifyResult> {
    const acc: Acc = { cache: 'none' };
    const cc = input.countryCode ?? this.#countryCode;
    const tnOpts: TnOptions = cc !== undefined ? { countryCode: cc } : {};

    // 1. RFC 8224 §6.2 step 1 / RFC 8588 §6: the Identity value with ppt=shaken (several may be present).
    if (!input.identityValues.some((v) => v.trim().length > 0)) return out('no_identity', acc);
    const sel = selectShakenIdentity(input.identityValues);
    if (sel === 'malformed') return out('malformed', acc, 'identity header unparseable');
    // RFC 8224 §6.2: no Identity with a supported ppt is treated like no Identity (428).
    if (sel === undefined) return out('unsupported_ppt', acc);

    // 2. RFC 7515 §7.1 / RFC 8225 §6: strict base64url sections, JSON objects.
    const jws = decodeJws(sel.token);
    if (!jws.ok) return out('malformed', acc, jws.code);

    // 3. Header. RFC 8588 §4 / ATIS-1000074 §5.3.1: alg ES256 only.
    const h = jws.header;
    if (h.alg === undefined) return out('missing_claim', acc, 'alg');
    if (h.alg !== 'ES256') return out('unsupported_alg', acc, typeof h.alg === 'string' ? h.alg : 'alg');
    const algParam = sel.params.get('alg');
    if (algParam !== undefined && algParam !== 'ES256')
      return out('unsupported_alg', acc, `alg param ${algParam}`);
    // RFC 8588 §3: ppt "shaken" in the PASSporT header; the Identity ppt parameter must agree.
    if (h.ppt === undefined) return out('missing_claim', acc, 'ppt');
    if (h.ppt !== 'shaken') return out('malformed', acc, 'ppt parameter and PASSporT ppt differ');
    // RFC 8225 §5.1.1: typ "passport". RFC 7515 §4.1.9 makes typ optional in a JWS and it adds nothing to
    // security (alg and ppt are checked, the header is signed), so an absent typ is accepted; a wrong one is not.
    if (h.typ !== undefined && h.typ !== 'passport') return out('bad_typ', acc, String(h.typ));
    // RFC 8224 §4.1: `info` points at the credential; ATIS-1000074 §5.3.1: it equals the PASSporT x5u.
    if (h.x5u !== undefined && typeof h.x5u !== 'string') return out('bad_claim', acc, 'x5u');
    const x5u = (h.x5u as string | undefined) ?? sel.info;
    if (x5u === undefined || x5u.length === 0) return out('missing_claim', acc, 'x5u');
    acc.x5u = x5u;

    // 4. Claims (full form) or the rebuilt claims (compact form).
    let claims: ShakenClaims;
    let signingInput: string;
    if (jws.compact) {
      const rebuilt = this.#rebuild(input, tnOpts);
      if (typeof rebuilt === 'string') return out('malformed', acc, rebuilt);
      claims = rebuilt;
      // RFC 8225 §9: the rebuilt payload is the deterministic JSON the signer would have produced.
      signingInput = jws.headerB64 + '.' + b64urlEncode(encodeClaims(claims));
    } else {
      const c = checkShakenClaims(jws.payload!);
      if (!c.ok) return out(c.code, acc, c.detail);
      claims = c.claims;
      // Verify over the bytes received, never re-serialised JSON.
      signingInput = jws.signingInput;
    }
    acc.attest = claims.attest;
    acc.origid = claims.origid;
    acc.iat = claims.iat;

    // 5. Freshness (ATIS-1000074 §5.3.1 step 2, RFC 8224 §6.2.2): iat only, no Date header needed.
    // Whole seconds on both sides, as iat is (RFC 8225 §5.1.1 NumericDate).
    const now = this.#clock();
    const ageS = Math.floor(now / 1000) - claims.iat;
    if (ageS > this.#maxAgeS) return out('stale', acc, `iat ${ageS} s old`);
    if (-ageS > this.#maxFutureSkewS) return out('future_iat', acc, `iat ${-ageS} s ahead`);

    // 6. RFC 8224 §4.1: info and x5u name the same credential; then the SSRF gate, before any I/O.
    if (sel.info !== undefined && sel.info !== x5u) return out('info_mismatch', acc);
    const checked = this.#checkUrl(x5u);
    if (!checked.ok) return out('x5u_disallowed', acc, checked.reason);

    // 7. Certificate: cache, else one shared fetch (RFC 8224 §6.2.3, ATIS-1000080 §6.3.1).
    const v: Verifying = { input, acc, tnOpts, claims, signingInput, signature: jws.signature, now };
    const url = checked.url.href;
    const cached = this.#cache.peek(url);
    if (cached === undefined) return this.#cache.get(url).then((lookup) => this.#withCertificate(v, lookup));
    return this.#withCertificate(v, cached);
  }

  #withCertificate(v: Verifying, lookup: CertLookup): VerifyResult | Promise<VerifyResult> {
    const { acc, claims } = v;
    acc.cache = lookup.cache;
    const entry = lookup.result;
    if (!entry.ok) return out(entry.code, acc, entry.detail);
    acc.spc = entry.cert.spc;
    acc.subject = entry.cert.subject;

    // 8. RFC 5280 §6.1.3: every certificate in the path valid at iat and now; not revoked.
    const time = this.#trust.checkTime(entry.cert, [claims.iat * 1000, v.now]);
    if (!time.ok) return out(time.code, acc, time.detail);

    // 9. RFC 7515 §5.2 / RFC 7518 §3.4: ES256 over the signing input.
    if (v.signature.length !== 64)
      return out('bad_signature', acc, `signature is ${v.signature.length} bytes`);
    const key = entry.cert.publicKey;
    if (this.#signatureOnPool)
      return verifyEs256Pool(v.signingInput, v.signature, key).then((good) =>
        good ? this.#withSignature(v) : out('bad_signature', acc),
      );
    if (!verifyEs256Sync(v.signingInput, v.signature, key)) return out('bad_signature', acc);
    return this.#withSignature(v);
  }

  #withSignature(v: Verifying): VerifyResult | Promise<VerifyResult> {
    const { input, acc, claims, tnOpts } = v;
    // 10. RFC 8224 §6.2 step 2 / ATIS-1000074 §5.3.1 step 4: orig vs calling, dest vs called, canonical.
    const calling = input.callingTn === undefined ? undefined : canonicalizeTn(input.callingTn, tnOpts);
    const orig = canonicalizeTn(claims.orig.tn, tnOpts);
    if (calling === undefined) return out('orig_mismatch', acc, 'no calling telephone number');
    if (orig !== calling) return out('orig_mismatch', acc);
    let destOk = false;
    for (const raw of input.calledTns) {
      const called = canonicalizeTn(raw, tnOpts);
      if (called !== undefined && claims.dest.tn.some((d) => canonicalizeTn(d, tnOpts) === called)) {
        destOk = true;
        break;
      }
    }
    if (!destOk) return out('dest_mismatch', acc);

    // 11. RFC 8224 §12.1: a PASSporT seen again within its freshness window. Recorded only once valid, so
    // a forged token cannot poison the store. Keyed by the signature's r half.
    // A shared store being down must not fail valid calls: the signature and claims are already good.
    const unavailable = () => out('passed', acc, 'replay store unavailable');
    let replayed: boolean | Promise<boolean>;
    try {
      // Key on r, not on the signature text: an ES256 signature (r, s) has a twin (r, n-s) that verifies
      // too (ECDSA malleability; node does not enforce low-S), so a replay could swap s and look new.
      replayed = this.#replay.seen(
        v.signature.subarray(0, 32).toString('base64url'),
        (this.#maxAgeS + this.#maxFutureSkewS) * 1000,
      );
    } catch {
      return unavailable();
    }
    if (typeof replayed === 'boolean') return out(replayed ? 'replay' : 'passed', acc);
    return replayed.then((seen) => out(seen ? 'replay' : 'passed', acc), unavailable);
  }

  #checkUrl(x5u: string): X5uUrlCheck {
    let c = this.#urlChecks.get(x5u);
    if (c === undefined) {
      c = checkX5uUrl(x5u, this.#policy);
      if (this.#urlChecks.size >= URL_CHECK_MEMO_MAX) this.#urlChecks.clear();
      this.#urlChecks.set(x5u, c);
    }
    return c;
  }

  #rebuild(input: VerifyInput, tnOpts: TnOptions): ShakenClaims | string {
    const rb = input.rebuild;
    if (rb === undefined) return 'compact form: no request data to rebuild the PASSporT';
    if (rb.dateMs === undefined || !Number.isFinite(rb.dateMs)) return 'compact form: no Date header';
    // RFC 8588 §6: attest and origid have no SIP source; without them SHAKEN compact form is unverifiable.
    if (rb.attest === undefined || rb.origid === undefined)
      return 'compact form: attest/origid cannot be rebuilt';
    const origRaw = rb.origTn ?? input.callingTn;
    const orig = origRaw === undefined ? undefined : canonicalizeTn(origRaw, tnOpts);
    if (orig === undefined) return 'compact form: no calling number';
    const destRaw = rb.destTns ?? (input.calledTns.length > 0 ? [input.calledTns[0]!] : []);
    const dest: string[] = [];
    for (const d of destRaw) {
      const c = canonicalizeTn(d, tnOpts);
      if (c === undefined) return 'compact form: called number is not a telephone number';
      dest.push(c);
    }
    if (dest.length === 0) return 'compact form: no called number';
    return {
      attest: rb.attest,
      dest: { tn: dest },
      iat: Math.floor(rb.dateMs / 1000),
      orig: { tn: orig },
      origid: rb.origid,
    };
  }
}
