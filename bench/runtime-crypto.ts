/**
 * The raw ECDSA rate of the runtime a benchmark runs on: synchronous `crypto.sign` and `crypto.verify` with a
 * P-256 key on a PASSporT signing input (RFC 8225 §9 header and SHAKEN claims, ATIS-1000074 §5.2; ES256 is
 * ECDSA P-256 + SHA-256, RFC 7518 §3.4), one call after another on this thread. The sign and verify
 * benchmarks print it first, so a slower Node or OpenSSL build shows at once: npm's `node@24` resolved to
 * 24.21.0, whose P-256 `crypto.sign` ran at 11.5-14k/s on the machine where 24.22.3 (OpenSSL 3.5.9) ran
 * 31.5-32.6k/s (docs/performance-history.md, "Node 20 vs Node 24").
 */
import { sign as cryptoSign, verify as cryptoVerify, generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { b64urlEncode } from '../src/stir/base64url.js';
import { encodeClaims, encodedHeaderFor } from '../src/stir/passport.js';

/** Rounds per operation, alternating sign and verify so that load from other processes hits both. */
const ROUNDS = 3;
const ROUND_MS = 300;
const WARMUP_MS = 200;

export interface RuntimeCrypto {
  /** `process.version`, e.g. v24.22.3. */
  readonly node: string;
  readonly openssl: string;
  /** Bytes signed and verified per call (a PASSporT signing input with a typical x5u and one dest). */
  readonly inputBytes: number;
  /** Median over ROUNDS of synchronous P-256 operations per second. */
  readonly signPerSec: number;
  readonly verifyPerSec: number;
}

/** A SHAKEN PASSporT signing input (base64url header '.' base64url claims), as Signer builds it. */
function passportSigningInput(): Buffer {
  const header = encodedHeaderFor('https://cert.example.net/stir/sp-chain.pem');
  const claims = encodeClaims({
    attest: 'A',
    dest: { tn: ['13035552000'] },
    iat: 1_796_601_600,
    orig: { tn: '12025551000' },
    origid: '123e4567-e89b-12d3-a456-426655440000',
  });
  return Buffer.from(`${header}.${b64urlEncode(claims)}`, 'latin1');
}

function rate(op: () => void, ms: number): number {
  const start = performance.now();
  const deadline = start + ms;
  let n = 0;
  do {
    for (let i = 0; i < 16; i++) op();
    n += 16;
  } while (performance.now() < deadline);
  return (n * 1000) / (performance.now() - start);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** About 2 s: a warm-up, then ROUNDS rounds of sign and verify in turn. */
export function measureRuntimeCrypto(): RuntimeCrypto {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const data = passportSigningInput();
  const signKey = { key: privateKey, dsaEncoding: 'ieee-p1363' } as const;
  const verifyKey = { key: publicKey, dsaEncoding: 'ieee-p1363' } as const;
  const signature = cryptoSign('sha256', data, signKey);
  let failures = 0;
  const sign = (): void => {
    if (cryptoSign('sha256', data, signKey).length !== 64) failures++;
  };
  const verify = (): void => {
    if (!cryptoVerify('sha256', data, verifyKey, signature)) failures++;
  };
  rate(sign, WARMUP_MS);
  rate(verify, WARMUP_MS);
  const signs: number[] = [];
  const verifies: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    signs.push(rate(sign, ROUND_MS));
    verifies.push(rate(verify, ROUND_MS));
  }
  if (failures > 0) throw new Error(`runtime crypto: ${failures} signatures failed`);
  return {
    node: process.version,
    openssl: process.versions.openssl ?? 'unknown',
    inputBytes: data.length,
    signPerSec: median(signs),
    verifyPerSec: median(verifies),
  };
}

/** One line, e.g. `runtime: node v24.22.3 (OpenSSL 3.5.9), P-256 on a 290-byte PASSporT input: ...`. */
export function formatRuntimeCrypto(r: RuntimeCrypto): string {
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  return (
    `runtime: node ${r.node} (OpenSSL ${r.openssl}), P-256 on a ${r.inputBytes}-byte PASSporT signing input, ` +
    `synchronous on one thread: crypto.sign ${n(r.signPerSec)} /s, crypto.verify ${n(r.verifyPerSec)} /s ` +
    `(median of ${ROUNDS} rounds of ${ROUND_MS} ms)`
  );
}
