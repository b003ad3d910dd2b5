/**
 * Interop oracle: secsipidx (asipto/secsipidx, the library behind Kamailio's secsipid module) verifies
 * the Identity headers our Signer produces: with the certificate file, with chain checks against our
 * STI-CA, and in its HTTP API mode fetching x5u from our x5u server. Skipped (loudly) without the binary.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningMaterial } from '../../../src/stir/keys.js';
import { createDevPki, type DevPki } from '../../../src/stir/pki/dev-pki.js';
import { startX5uServer, type X5uServer } from '../../../src/stir/pki/x5u-server.js';
import { Signer } from '../../../src/stir/signer.js';

function findSecsipidx(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v secsipidx'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const BIN = findSecsipidx();
if (!BIN) {
  console.warn(
    '\n*** SKIPPING secsipidx oracle tests: the `secsipidx` binary is not installed (apt-get install secsipidx). ' +
      'CI installs it; there these tests must run. ***\n',
  );
}

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(BIN!, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

const ORIGID = '123e4567-e89b-12d3-a456-426655440000';

describe.skipIf(!BIN)('secsipidx oracle', () => {
  let dir: string;
  let pki: DevPki;
  let otherPki: DevPki;
  let server: X5uServer;
  let signer: Signer;
  let signerKey: KeyObject;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stirgate-secsipidx-'));
    pki = await createDevPki(join(dir, 'pki'));
    otherPki = await createDevPki(join(dir, 'other'));
    server = await startX5uServer({ files: { 'sp.pem': pki.spChainPem } });
    const m = loadSigningMaterial({ privateKeyPem: pki.spKeyPem, certificatePem: pki.spChainPem });
    signerKey = m.privateKey;
    signer = new Signer({ privateKey: m.privateKey, x5u: server.url('sp.pem') });
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function identity(attest: 'A' | 'B' | 'C' = 'A'): Promise<string> {
    const r = await signer.sign({
      attest,
      origTn: '+12025550100',
      destTns: ['+12025550199'],
      origid: ORIGID,
    });
    if (!r.ok) throw new Error(r.code);
    return r.identity;
  }

  it('verifies our header with the SP certificate as the key', async () => {
    const r = await run([
      '-check',
      '-identity',
      await identity(),
      '-fpubkey',
      pki.files.sp,
      '-expire',
      '300',
    ]);
    expect(r.out).toMatch(/\bok\b/);
    expect(r.code).toBe(0);
  });

  it('verifies our chain against our STI-CA (cert-verify: validity + custom root, intermediate from the chain)', async () => {
    for (const attest of ['A', 'B', 'C'] as const) {
      const r = await run([
        '-check',
        '-identity',
        await identity(attest),
        '-fpubkey',
        pki.files.spChain,
        '-cert-verify',
        '5', // bit 0: validity, bit 2: chain to -ca-file
        '-ca-file',
        pki.files.ca,
        '-expire',
        '300',
      ]);
      expect(r.out).toMatch(/\bok\b/);
      expect(r.code).toBe(0);
    }
  });

  it('rejects our chain when the trusted CA is another one (the oracle can say no)', async () => {
    const r = await run([
      '-check',
      '-identity',
      await identity(),
      '-fpubkey',
      pki.files.spChain,
      '-cert-verify',
      '5',
      '-ca-file',
      otherPki.files.ca,
      '-expire',
      '300',
    ]);
    expect(r.out).toContain('unknown authority');
    expect(r.code).not.toBe(0);
  });

  it('rejects a tampered payload', async () => {
    const id = await identity();
    const [h, p, rest] = id.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.orig.tn = '12025550666';
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${rest}`;
    const r = await run(['-check', '-identity', forged, '-fpubkey', pki.files.sp, '-expire', '300']);
    expect(r.out).toContain('ECDSA verification failed');
    expect(r.code).not.toBe(0);
  });

  it('HTTP API mode fetches x5u from our x5u server and verifies the chain', async () => {
    const port = await freePort();
    const child = spawn(
      BIN!,
      [
        '-http-srv',
        `127.0.0.1:${port}`,
        '-cert-verify',
        '5',
        '-ca-file',
        pki.files.ca,
        '-expire',
        '300',
        '-timeout',
        '5',
      ],
      { stdio: 'ignore' },
    );
    try {
      const check = async (body: string): Promise<number> => {
        for (let i = 0; i < 100; i++) {
          try {
            return (await fetch(`http://127.0.0.1:${port}/v1/check`, { method: 'POST', body })).status;
          } catch {
            await new Promise((r) => setTimeout(r, 20)); // server still starting
          }
        }
        throw new Error('secsipidx HTTP server did not start');
      };
      expect(await check(await identity('A'))).toBe(200);
      // Same signer, but its x5u now points at a path the server does not have: the fetch fails.
      const lost = new Signer({ privateKey: signerKey, x5u: server.url('missing.pem') });
      const r = await lost.sign({
        attest: 'A',
        origTn: '12025550100',
        destTns: ['12025550199'],
        origid: ORIGID,
      });
      expect(r.ok && (await check(r.identity))).toBe(500);
    } finally {
      child.kill();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
