// Issue 5 chain and interop, end to end with SIPp:
// - SIPp caller -> Stirgate (sign, dev PKI) -> Stirgate (verify, trusting the signer's dev CA) -> SIPp callee
//   that requires verstat=TN-Validation-Passed, the Identity header and attestation A on every call.
// - Identity headers made by secsipidx -sign-full (a test CA made here, its SP chain on a loopback x5u
//   server) sent through a verifying Stirgate arrive marked TN-Validation-Passed; jose agrees on each.
// - runDemo (src/cli/demo.ts, `npm run demo`) reports a passing run.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { compactVerify, importX509 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.js';
import { decisionChannels, type VerificationDecisionEvent } from '../../src/events.js';
import { createDevPki } from '../../src/stir/pki/dev-pki.js';
import { startX5uServer, type X5uServer } from '../../src/stir/pki/x5u-server.js';
import { type Element, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import { runSipp, type SippResult, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';

const run = promisify(execFile);

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP) console.warn('\n!!! SKIPPING test/integration/chain.test.ts: no sipp binary on PATH\n');
const HAVE_SECSIPIDX = (process.env.PATH ?? '').split(delimiter).some((dir) => {
  try {
    accessSync(join(dir, 'secsipidx'), constants.X_OK);
    return true;
  } catch {
    return false;
  }
});
if (!HAVE_SECSIPIDX) console.warn('\n!!! SKIPPING the secsipidx interop test: secsipidx not installed\n');

const CHAIN_CALLS = 300;
const CHAIN_RATE = 200;

function describeRun(r: SippResult): string {
  return `exit ${r.exitCode}, ${r.successful} ok, ${r.failed} failed\n${(r.errorLog ?? '').slice(0, 3000)}\nargs: ${r.args.join(' ')}`;
}

/** Collect the verification decisions the elements of this process publish while `body` runs. */
async function decisionsDuring<T>(
  body: () => Promise<T>,
): Promise<{ value: T; codes: Record<string, number> }> {
  const codes: Record<string, number> = {};
  const on = (m: unknown): void => {
    const e = m as VerificationDecisionEvent;
    const key = `${e.code}/${e.action}`;
    codes[key] = (codes[key] ?? 0) + 1;
  };
  decisionChannels.verification.subscribe(on);
  try {
    return { value: await body(), codes };
  } finally {
    decisionChannels.verification.unsubscribe(on);
  }
}

describe.skipIf(!HAVE_SIPP)('chain: SIPp -> Stirgate sign -> Stirgate verify -> SIPp', () => {
  let signer: Element | undefined;
  let verifier: Element | undefined;
  let trustDir: string | undefined;

  afterAll(async () => {
    await signer?.stop();
    await verifier?.stop();
    if (trustDir !== undefined) await rm(trustDir, { recursive: true, force: true });
  });

  it(`${CHAIN_CALLS} calls at ${CHAIN_RATE}/s all arrive with verstat=TN-Validation-Passed`, async () => {
    const callee = await startSippServer({
      scenario: scenarioPath('demo/uas.xml'),
      transport: 'u1',
      calls: CHAIN_CALLS,
      timeoutS: 60,
    });
    await callee.ready;
    const verifierPort = await freePort('both');
    // Each element gets its own x5u_listen port (only the signer serves a certificate).
    signer = await startElement(
      `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
  - { transport: tcp, address: 127.0.0.1, port: {port} }
trunks:
  - name: customer
    role: originating
    match: { sources: [127.0.0.2/32] }
    route: verifier
routes:
  - name: verifier
    next_hops: [{ address: 127.0.0.1, port: ${verifierPort}, transport: udp }]
customers:
  - name: demo
    trunks: [customer]
    numbers: ["1202555*"]
    limits: { cps: 10000, burst: 10000, max_concurrent: 100000 }
stir:
  dev_pki: { x5u_listen: "127.0.0.1:${await freePort('tcp')}" }
data_dir: {data_dir}
metrics: { listen: "" }
log: { level: silent }
`,
      { port: await freePort('both') },
    );
    const x5uPort = Number(new URL(signer.app.x5u!).port);
    // The verifier trusts exactly the signer's dev CA.
    trustDir = await mkdtemp(join(tmpdir(), 'stirgate-chain-trust-'));
    await copyFile(join(signer.dataDir, 'pki', 'ca.pem'), join(trustDir, 'ca.pem'));
    verifier = await startElement(
      `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
  - { transport: tcp, address: 127.0.0.1, port: {port} }
trunks:
  - name: from-signer
    role: terminating
    match: { sources: [127.0.0.1/32] }
    route: callee
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${callee.port}, transport: udp }]
stir:
  verification:
    trust_roots_dir: ${trustDir}
    # The dev x5u server is plain http on loopback: allowed explicitly, nothing else.
    x5u: { allow_http: true, allowed_ports: [${x5uPort}], allow_cidrs: [127.0.0.1/32] }
  dev_pki: { x5u_listen: "127.0.0.1:${await freePort('tcp')}" }
data_dir: {data_dir}
metrics: { listen: "" }
log: { level: silent }
`,
      { port: verifierPort },
    );

    const { value: caller, codes } = await decisionsDuring(() =>
      runSipp({
        scenario: scenarioPath('demo/uac.xml'),
        remote: `127.0.0.1:${signer!.port}`,
        transport: 'u1',
        calls: CHAIN_CALLS,
        rate: CHAIN_RATE,
        concurrent: CHAIN_RATE,
        timeoutS: 60,
      }),
    );
    const answered = await Promise.race([
      callee.result,
      new Promise<SippResult>((resolve) => setTimeout(() => resolve(callee.stop()), 5_000)),
    ]);
    expect(caller.failed, describeRun(caller)).toBe(0);
    expect(caller.successful, describeRun(caller)).toBe(CHAIN_CALLS);
    // The callee fails a call without verstat=TN-Validation-Passed, Identity, X-Attestation: A.
    expect(answered.failed, describeRun(answered)).toBe(0);
    expect(answered.successful, describeRun(answered)).toBe(CHAIN_CALLS);
    expect(codes).toEqual({ 'passed/continue': CHAIN_CALLS });
    // Every call ended on both elements (transactions may linger for their timers; calls may not).
    await expect
      .poll(() => signer!.app.stats().calls + verifier!.app.stats().calls, { timeout: 3_000 })
      .toBe(0);
  }, 90_000);
});

describe.skipIf(!HAVE_SIPP || !HAVE_SECSIPIDX)(
  'interop: secsipidx -sign-full headers through a verifying Stirgate',
  () => {
    let dir: string;
    let x5u: X5uServer;
    let verifier: Element;
    let spCertPem: string;
    let spKeyFile: string;
    let calleePort: number;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'stirgate-interop-'));
      // A test CA made by the dev PKI: root -> intermediate -> SP (TNAuthList SPC 7788).
      const pki = await createDevPki(join(dir, 'pki'), { spc: '7788' });
      spCertPem = pki.spCertPem;
      spKeyFile = pki.files.spKey;
      x5u = await startX5uServer({ files: { 'sp.pem': pki.spChainPem } });
      const trust = join(dir, 'trust');
      await mkdir(trust);
      await writeFile(join(trust, 'ca.pem'), pki.caPem);
      calleePort = await freePort('udp');
      verifier = await startElement(
        `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
  - { transport: tcp, address: 127.0.0.1, port: {port} }
trunks:
  - name: peer
    role: terminating
    match: { sources: [127.0.0.2/32] }
    route: callee
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${calleePort}, transport: udp }]
stir:
  verification:
    trust_roots_dir: ${trust}
    x5u: { allow_http: true, allowed_ports: [${x5u.port}], allow_cidrs: [127.0.0.1/32] }
  dev_pki: { x5u_listen: "127.0.0.1:0" }
data_dir: {data_dir}
metrics: { listen: "" }
log: { level: silent }
`,
        { port: await freePort('both') },
      );
    }, 30_000);

    afterAll(async () => {
      await verifier?.stop();
      await x5u?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('secsipidx-signed calls (attest A, B, C) arrive with TN-Validation-Passed; jose agrees', async () => {
      const url = x5u.url('sp.pem');
      const key = await importX509(spCertPem, 'ES256');
      const lines: string[] = [];
      const attests = ['A', 'B', 'C', 'A', 'B', 'C'] as const;
      for (const [i, attest] of attests.entries()) {
        const calling = `+1202555010${i}`;
        const called = `+1303555020${i}`;
        const { stdout } = await run(
          'secsipidx',
          [
            '-sign-full',
            '-k',
            spKeyFile,
            '-o',
            calling.slice(1),
            '-d',
            called.slice(1),
            '-a',
            attest,
            '-x5u',
            url,
            '-orig-id',
            randomUUID(),
          ],
          { timeout: 10_000 },
        );
        const m =
          /^([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+);info=<([^>]+)>;alg=([^;]+);ppt=([^;\s]+)\s*$/.exec(
            stdout,
          );
        expect(m, `secsipidx output: ${stdout}`).not.toBeNull();
        const [, jws, info, alg, ppt] = m!;
        expect(info).toBe(url);
        await compactVerify(jws!, key); // the oracle accepts what secsipidx made
        const expect_ = `TN-Validation-Passed/TN-Validation-Passed//${attest}`;
        lines.push(['Identity', jws, info, alg, ppt, calling, called, expect_].join(';'));
      }
      const file = join(dir, 'calls.csv');
      await writeFile(file, `SEQUENTIAL\n${lines.join('\n')}\n`);
      const callee = await startSippServer({
        scenario: scenarioPath('verify/uas-verstat.xml'),
        transport: 'u1',
        localPort: calleePort,
        calls: lines.length,
        timeoutS: 30,
      });
      await callee.ready;
      const { value: caller, codes } = await decisionsDuring(() =>
        runSipp({
          scenario: scenarioPath('verify/uac-200.xml'),
          remote: `127.0.0.1:${verifier.port}`,
          transport: 'u1',
          calls: lines.length,
          concurrent: 1,
          timeoutS: 20,
          extraArgs: ['-inf', file],
        }),
      );
      const answered = await Promise.race([
        callee.result,
        new Promise<SippResult>((resolve) => setTimeout(() => resolve(callee.stop()), 5_000)),
      ]);
      expect(caller.failed, describeRun(caller)).toBe(0);
      expect(caller.successful, describeRun(caller)).toBe(lines.length);
      expect(answered.failed, describeRun(answered)).toBe(0);
      expect(codes).toEqual({ 'passed/continue': lines.length });
    }, 60_000);
  },
);

describe.skipIf(!HAVE_SIPP)('demo (src/cli/demo.ts, npm run demo)', () => {
  it('runs the chain with no configuration and reports every call TN-Validation-Passed', async () => {
    const out: string[] = [];
    const report = await runDemo({ calls: 60, rate: 100, logLevel: 'silent', print: (l) => out.push(l) });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.calls).toEqual({ attempted: 60, succeeded: 60, failed: 0 });
    expect(report.callee).toEqual({ answered: 60, failed: 0 });
    expect(report.attestation).toEqual({ A: 60 });
    expect(report.verstat).toEqual({ 'TN-Validation-Passed': 60 });
    expect(report.verification).toEqual({ passed: 60 });
    expect(report.signLatency.count).toBe(60);
    expect(report.verifyLatency.count).toBe(60);
    expect(report.verifyLatency.p50Ms).toBeGreaterThan(0);
    expect(out.join('\n')).toMatch(/^PASS: /m);
  }, 60_000);
});
