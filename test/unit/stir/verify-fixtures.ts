/**
 * Test PKI + loopback x5u server + verifier wiring shared by the verification tests. Everything is generated
 * at test time (dev-pki) and served on 127.0.0.1 port 0; the x5u policy allows http and 127.0.0.0/8
 * explicitly and denies 127.0.0.2, so nothing can leave the host.
 */
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { b64urlEncode } from '../../../src/stir/base64url.js';
import { CertCache, type CertCacheOptions } from '../../../src/stir/certs/cert-cache.js';
import { fetchX5u } from '../../../src/stir/certs/fetch.js';
import { TrustStore } from '../../../src/stir/certs/trust.js';
import { createX5uPolicy, type X5uPolicy } from '../../../src/stir/certs/x5u-policy.js';
import { createDevPki, createRootCa, type DevPki, issueCertificate } from '../../../src/stir/pki/dev-pki.js';
import { startX5uServer, type X5uServer } from '../../../src/stir/pki/x5u-server.js';
import { MemoryReplayStore } from '../../../src/stir/replay-store.js';
import { Signer } from '../../../src/stir/signer.js';
import { Verifier, type VerifierOptions } from '../../../src/stir/verifier.js';

export const ORIG = '12025550100';
export const DEST = '12025550101';
export const ORIGID = '123e4567-e89b-12d3-a456-426614174000';
export const DAY = 86_400_000;

export interface Fixture {
  readonly dir: string;
  readonly pki: DevPki;
  readonly server: X5uServer;
  /** A server that accepts connections and never answers. */
  readonly silentUrl: string;
  readonly policy: X5uPolicy;
  readonly trust: TrustStore;
  readonly spKey: KeyObject;
  /** Mutable wall clock (ms) read by signer, cache and verifier. */
  now: number;
  readonly clock: () => number;
  /** SP chain served at these names. */
  readonly urls: {
    readonly good: string;
    readonly expired: string;
    readonly noTn: string;
    readonly untrusted: string;
    readonly big: string;
    readonly missing: string;
    readonly garbage: string;
  };
  /** Keys matching the alternative certificates. */
  readonly keys: { readonly expired: KeyObject; readonly noTn: KeyObject; readonly untrusted: KeyObject };
  signer(x5u?: string, key?: KeyObject): Signer;
  verifier(opts?: Partial<VerifierOptions>, cacheOpts?: Partial<CertCacheOptions>): Verifier;
  close(): Promise<void>;
}

export async function createFixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'stirgate-verify-'));
  const pki = await createDevPki(dir, { spc: '1234' });
  const issuer = { issuerCertPem: pki.intermediatePem!, issuerKeyPem: pki.intermediateKeyPem! };
  const start = Date.now();
  const expired = await issueCertificate({
    ...issuer,
    notBefore: new Date(start - 10 * DAY),
    notAfter: new Date(start - DAY),
  });
  const noTn = await issueCertificate({ ...issuer, spc: null });
  const otherRoot = await createRootCa({ subject: 'CN=Other Root, O=Elsewhere, C=US' });
  const untrusted = await issueCertificate({
    issuerCertPem: otherRoot.certPem,
    issuerKeyPem: otherRoot.keyPem,
  });
  const server = await startX5uServer({
    files: {
      'sp.pem': pki.spChainPem,
      'expired.pem': expired.certPem + pki.intermediatePem!,
      'notn.pem': noTn.certPem + pki.intermediatePem!,
      'untrusted.pem': untrusted.certPem + otherRoot.certPem,
      'big.pem': pki.spChainPem + '#'.repeat(64 * 1024),
      'garbage.pem': 'not a certificate\n',
    },
  });
  const sockets = new Set<Socket>();
  const silent: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentPort = (silent.address() as { port: number }).port;
  const policy = createX5uPolicy({
    allowHttp: true,
    ports: 'any',
    allowCidrs: ['127.0.0.0/8'],
    denyCidrs: ['127.0.0.2/32'],
  });
  const trust = TrustStore.fromPem(pki.caPem);
  const spKey = createPrivateKey(pki.spKeyPem);
  const fx: Fixture = {
    dir,
    pki,
    server,
    silentUrl: `http://127.0.0.1:${silentPort}/sp.pem`,
    policy,
    trust,
    spKey,
    now: start,
    clock: () => fx.now,
    urls: {
      good: server.url('sp.pem'),
      expired: server.url('expired.pem'),
      noTn: server.url('notn.pem'),
      untrusted: server.url('untrusted.pem'),
      big: server.url('big.pem'),
      missing: server.url('missing.pem'),
      garbage: server.url('garbage.pem'),
    },
    keys: {
      expired: createPrivateKey(expired.keyPem),
      noTn: createPrivateKey(noTn.keyPem),
      untrusted: createPrivateKey(untrusted.keyPem),
    },
    signer: (x5u = server.url('sp.pem'), key = spKey) =>
      new Signer({ privateKey: key, x5u, clock: fx.clock }),
    verifier: (opts = {}, cacheOpts = {}) => {
      const cache = new CertCache({
        fetch: (u) => fetchX5u(u, { timeoutMs: 300, maxBodyBytes: 16 * 1024, policy }),
        trust,
        now: fx.clock,
        ...cacheOpts,
      });
      return new Verifier({
        trust,
        cache,
        replay: new MemoryReplayStore({ max: 1000, now: fx.clock }),
        x5uPolicy: policy,
        clock: fx.clock,
        ...opts,
      });
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fx;
}

/** Sign arbitrary header/payload JSON (objects or raw strings) with ES256 — for malformed-token cases. */
export function signRaw(header: object | string, payload: object | string, key: KeyObject): string {
  const h = b64urlEncode(typeof header === 'string' ? header : JSON.stringify(header));
  const p = b64urlEncode(typeof payload === 'string' ? payload : JSON.stringify(payload));
  const sig = sign('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${h}.${p}.${sig.toString('base64url')}`;
}

export function identity(jws: string, x5u: string, ppt = 'shaken'): string {
  return `${jws};info=<${x5u}>;alg=ES256;ppt=${ppt}`;
}

export function shakenHeader(x5u: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u, ...extra };
}

export function shakenClaims(iat: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { attest: 'A', dest: { tn: [DEST] }, iat, orig: { tn: ORIG }, origid: ORIGID, ...extra };
}
