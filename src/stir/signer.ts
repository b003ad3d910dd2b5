/**
 * Authentication service core (RFC 8224 §5, ATIS-1000074 §5.3.1): build the SHAKEN PASSporT for a call,
 * sign it with ES256 and return the full Identity header value. No SIP here: the B2BUA passes the number
 * strings it took from the request and the attestation policy's decision.
 *
 * The signature is computed synchronously (see signSync for why). The key is imported once; the base64url
 * header is encoded once per x5u.
 */
import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import { b64urlEncode } from './base64url.js';
import { formatIdentityHeader } from './identity-header.js';
import { isP256, StirConfigError } from './keys.js';
import { type Attestation, encodeClaims, encodedHeaderFor, type ShakenClaims } from './passport.js';
import { stirChannels as channels, type SignEvent } from './stir-events.js';
import { canonicalizeTn } from './tn.js';

export interface SignerOptions {
  /** EC P-256 private key (see loadSigningMaterial). */
  readonly privateKey: KeyObject;
  /** HTTPS URL of the SP certificate chain, put in the PASSporT `x5u` and the Identity `info`. */
  readonly x5u: string;
  /** Wall clock in ms (default Date.now); `iat` is its whole seconds. */
  readonly clock?: () => number;
  /** Country code for national numbers (see canonicalizeTn), e.g. `1`. */
  readonly countryCode?: string;
}

export interface SignInput {
  readonly attest: Attestation;
  /** Calling number as found in the request (canonicalised here). */
  readonly origTn: string;
  /** Called number(s) as found in the request (canonicalised here). */
  readonly destTns: readonly string[];
  /** ATIS-1000074 §5.2.4 origination identifier (UUID), stable per customer or trunk. */
  readonly origid: string;
}

export type SignErrorCode =
  /** `origTn` is not a telephone number (alphanumeric, anonymous, too long). */
  | 'no_calling_number'
  /** No `destTns`, or one of them is not a telephone number. */
  | 'no_called_number'
  /** `attest` not A/B/C or empty `origid`: a programming or configuration error upstream. */
  | 'invalid_input'
  /** The signature operation failed (cause attached). */
  | 'sign_failed';

export type SignResult =
  | {
      readonly ok: true;
      /** Full Identity header value: `<jws>;info=<x5u>;alg=ES256;ppt=shaken`. */
      readonly identity: string;
      readonly jws: string;
      readonly claims: ShakenClaims;
    }
  | { readonly ok: false; readonly code: SignErrorCode; readonly cause?: unknown };

export class Signer {
  readonly x5u: string;
  readonly #keyInput: { key: KeyObject; dsaEncoding: 'ieee-p1363' };
  readonly #headerB64: string;
  readonly #clock: () => number;
  readonly #tnOpts: { countryCode?: string };

  /** Throws StirConfigError(`key_not_p256`) when the key cannot sign ES256. */
  constructor(opts: SignerOptions) {
    if (opts.privateKey.type !== 'private' || !isP256(opts.privateKey)) {
      throw new StirConfigError('key_not_p256', 'Signer needs an EC P-256 private key (ES256)');
    }
    this.x5u = opts.x5u;
    // RFC 7518 §3.4: the JWS signature is R||S (64 bytes), not DER.
    this.#keyInput = { key: opts.privateKey, dsaEncoding: 'ieee-p1363' };
    this.#headerB64 = encodedHeaderFor(opts.x5u);
    this.#clock = opts.clock ?? Date.now;
    this.#tnOpts = opts.countryCode ? { countryCode: opts.countryCode } : {};
  }

  /** Sign one call; resolves with a typed result and never rejects. */
  sign(input: SignInput): Promise<SignResult> {
    return Promise.resolve(this.signSync(input));
  }

  /**
   * Sign one call on the calling thread and return a typed result; never throws. ES256 signing is about
   * 25-40 µs of CPU. The threadpool form (`crypto.sign` with a callback) holds the event loop a little less
   * per signature in isolation (bench/sign.ts), but costs about twice the CPU in all (hand-off, wake-ups of a
   * pool thread and of the loop) on cores the SIP path and its peers share, and its latency is the loop's
   * queue, not the signature: under load its p99 was 6-9 ms against 0.15-0.2 ms synchronously
   * (docs/performance.md, "Load").
   */
  signSync(input: SignInput): SignResult {
    const t0 = channels.sign.hasSubscribers ? process.hrtime.bigint() : undefined;
    const orig = canonicalizeTn(input.origTn, this.#tnOpts);
    if (orig === undefined) return done({ ok: false, code: 'no_calling_number' }, t0, input.attest);
    const n = input.destTns.length;
    if (n === 0) return done({ ok: false, code: 'no_called_number' }, t0, input.attest);
    const dest: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const d = canonicalizeTn(input.destTns[i]!, this.#tnOpts);
      if (d === undefined) return done({ ok: false, code: 'no_called_number' }, t0, input.attest);
      dest[i] = d;
    }
    const attest = input.attest;
    // RFC 8588 §4: attest is one of A, B, C; ATIS-1000074 §5.2.4: origid is required.
    if (
      (attest !== 'A' && attest !== 'B' && attest !== 'C') ||
      typeof input.origid !== 'string' ||
      !input.origid
    ) {
      return done({ ok: false, code: 'invalid_input' }, t0, undefined);
    }
    const claims: ShakenClaims = {
      attest,
      dest: { tn: dest },
      iat: Math.floor(this.#clock() / 1000),
      orig: { tn: orig },
      origid: input.origid,
    };
    let signingInput: string;
    try {
      signingInput = this.#headerB64 + '.' + b64urlEncode(encodeClaims(claims));
    } catch (cause) {
      return done({ ok: false, code: 'invalid_input', cause }, t0, attest);
    }
    let sig: Buffer;
    try {
      sig = cryptoSign('sha256', Buffer.from(signingInput, 'latin1'), this.#keyInput);
    } catch (cause) {
      return done({ ok: false, code: 'sign_failed', cause }, t0, attest);
    }
    const jws = signingInput + '.' + sig.toString('base64url');
    return done({ ok: true, identity: formatIdentityHeader(jws, this.x5u), jws, claims }, t0, attest);
  }
}

function publish(t0: bigint | undefined, result: SignResult, attest: Attestation | undefined): void {
  if (t0 === undefined || !channels.sign.hasSubscribers) return;
  const ev: SignEvent = result.ok
    ? { durationNs: Number(process.hrtime.bigint() - t0), outcome: 'signed', attest }
    : { durationNs: Number(process.hrtime.bigint() - t0), outcome: 'failed', attest, code: result.code };
  channels.sign.publish(ev);
}

function done(result: SignResult, t0: bigint | undefined, attest: Attestation | undefined): SignResult {
  publish(t0, result, attest);
  return result;
}
