// Traceback records end to end (issue 16): SIPp calls through a running element, then the element's own store
// (a real SQLite file in its data_dir, written by the store thread) finds each call by the Identity header the
// callee really received (its -trace_msg), by Call-ID and by numbers, with the right customer, trunk and
// source, and the call's end. A verifying element behind a signing one records who signed upstream: the
// signer certificate's SPC, the x5u, the attestation and the trunk the call came in on.
//
// Channels are process-wide: two elements in one process both see every record (the store of each gets the
// other's too). Tests here pick records by role and trunk; a deployment runs one element per process.
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TracebackRecord } from '../../src/traceback/record.js';
import type { TracebackStore } from '../../src/traceback/store.js';
import { type Element, signingElementYaml, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import { runSipp, type SippResult, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';
import { headerValues, readReceivedRequests } from '../support/sipp-trace.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP)
  console.warn('\n!!! SKIPPING test/integration/traceback-records.test.ts: no sipp binary on PATH\n');

const CALLS = 20;
const DAY = 86_400_000;

function describeRun(r: SippResult): string {
  return `exit ${r.exitCode}, ${r.successful} ok, ${r.failed} failed\n${(r.errorLog ?? '').slice(0, 3000)}`;
}

/** The records of `role` the store has for a Call-ID (either leg). */
async function byCallId(store: TracebackStore, callId: string, role: TracebackRecord['role']) {
  const r = await store.query({ by: 'callId', callId, limit: 10 });
  return r.records.filter((x) => x.role === role);
}

/** Wait until `n` records of `role` in the window have their end (the writer flushes every flush_ms). */
async function ended(store: TracebackStore, role: TracebackRecord['role'], n: number, since: number) {
  await expect
    .poll(
      async () => {
        const r = await store.query({
          by: 'numbers',
          orig: '12025550100',
          window: { from: since, to: Date.now() + 1000 },
          limit: 1000,
        });
        return r.records.filter((x) => x.role === role && x.end !== null).length;
      },
      { timeout: 5000, interval: 100 },
    )
    .toBe(n);
}

describe.skipIf(!HAVE_SIPP)('traceback records of a signing element', () => {
  let element: Element | undefined;
  const work = join(tmpdir(), `stirgate-tb-sign-${process.pid}`);
  afterAll(async () => {
    await element?.stop();
    await rm(`${work}-callee.log`, { force: true });
  });

  it(`${CALLS} SIPp calls: each found by the Identity the callee received, by Call-ID and by numbers`, async () => {
    const since = Date.now();
    const messages = `${work}-callee.log`;
    const callee = await startSippServer({
      scenario: scenarioPath('basic/uas.xml'),
      transport: 'u1',
      calls: CALLS,
      timeoutS: 30,
      extraArgs: ['-trace_msg', '-message_file', messages],
    });
    await callee.ready;
    element = await startElement(
      signingElementYaml(callee.port, 'traceback: { flush_ms: 50 }\nlog: { level: silent }'),
      { port: await freePort('both') },
    );
    const store = element.app.traceback!;
    expect(store).toBeDefined();
    const uacPort = await freePort('both', '127.0.0.2');
    const caller = await runSipp({
      scenario: scenarioPath('basic/uac.xml'),
      remote: `127.0.0.1:${element.port}`,
      transport: 'u1',
      localPort: uacPort,
      calls: CALLS,
      rate: 20,
      timeoutS: 30,
    });
    expect(caller.successful, describeRun(caller)).toBe(CALLS);
    const answered = await callee.result;
    expect(answered.successful, describeRun(answered)).toBe(CALLS);
    await ended(store, 'signed', CALLS, since);

    // The file: in data_dir, readable by the owner only (the records hold phone numbers).
    const file = await stat(join(element.dataDir, 'traceback.db'));
    expect(file.mode & 0o777).toBe(0o600);

    const invites = await readReceivedRequests(messages, 'INVITE');
    expect(invites).toHaveLength(CALLS);
    const aCallIds = new Set<string>();
    for (const invite of invites) {
      const identity = headerValues(invite, 'identity')[0]!;
      const jws = identity.split(';')[0]!.trim();
      const claims = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()) as {
        origid: string;
        iat: number;
      };
      const digest = createHash('sha256').update(jws).digest('base64url');
      const found = await store.query({ by: 'digest', digest, iat: claims.iat, limit: 5 });
      expect(found.records).toHaveLength(1);
      const r = found.records[0]!;
      expect(r).toMatchObject({
        role: 'signed',
        customer: 'signing-customer',
        trunk: 'customer',
        trunkRole: 'originating',
        source: { address: '127.0.0.2', port: uacPort, transport: 'udp' },
        bCallId: headerValues(invite, 'call-id')[0],
        nextHop: `udp:127.0.0.1:${callee.port}`,
        calling: { received: '+12025550100', canonical: '12025550100' },
        called: { canonical: '12025550199' },
        signed: { attest: 'A', origid: claims.origid, iat: claims.iat, digest },
        refused: null,
        end: { answered: true, status: 200, cause: 'bye' },
      });
      // The UAC hangs up 200 ms after the ACK.
      expect(r.end!.durationMs).toBeGreaterThanOrEqual(150);
      expect(r.time).toBeGreaterThanOrEqual(since);
      aCallIds.add(r.callId);

      // The same record by either leg's Call-ID, and by the PASSporT's claims.
      expect((await byCallId(store, r.callId, 'signed')).map((x) => x.id)).toEqual([r.id]);
      expect((await byCallId(store, r.bCallId!, 'signed')).map((x) => x.id)).toEqual([r.id]);
      const byClaims = await store.query({
        by: 'passport',
        origid: claims.origid,
        iat: claims.iat,
        orig: '12025550100',
        limit: 50,
      });
      expect(byClaims.records.map((x) => x.id)).toContain(r.id);
    }
    expect(aCallIds.size).toBe(CALLS);

    const byNumbers = await store.query({
      by: 'numbers',
      orig: '12025550100',
      dest: '12025550199',
      window: { from: since - DAY, to: Date.now() },
      limit: CALLS + 5,
    });
    expect(byNumbers.truncated).toBe(false);
    expect(new Set(byNumbers.records.map((x) => x.callId))).toEqual(aCallIds);
    const times = byNumbers.records.map((x) => x.time);
    expect(times).toEqual([...times].sort((a, b) => b - a)); // newest first
  }, 60_000);
});

describe.skipIf(!HAVE_SIPP)('traceback records of a verifying element', () => {
  let signer: Element | undefined;
  let verifier: Element | undefined;
  let trustDir: string | undefined;
  afterAll(async () => {
    await signer?.stop();
    await verifier?.stop();
    if (trustDir !== undefined) await rm(trustDir, { recursive: true, force: true });
  });

  it('records the upstream signer: SPC of its certificate, x5u, attestation, origid, trunk', async () => {
    const since = Date.now();
    const callee = await startSippServer({
      scenario: scenarioPath('demo/uas.xml'),
      transport: 'u1',
      calls: CALLS,
      timeoutS: 30,
    });
    await callee.ready;
    const verifierPort = await freePort('both');
    signer = await startElement(
      signingElementYaml(verifierPort, 'traceback: { enabled: false }\nlog: { level: silent }').replace(
        '["1202555*"]',
        '["1202555*"]\n    origid: 3d0c8a52-1f7e-4a4b-9a6e-0c5b7f2d9e11',
      ),
      { port: await freePort('both') },
    );
    const x5uPort = Number(new URL(signer.app.x5u!).port);
    trustDir = await mkdtemp(join(tmpdir(), 'stirgate-tb-trust-'));
    await copyFile(join(signer.dataDir, 'pki', 'ca.pem'), join(trustDir, 'ca.pem'));
    verifier = await startElement(
      `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
trunks:
  - name: from-upstream
    role: terminating
    match: { sources: [127.0.0.1/32] }
    route: callee
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${callee.port}, transport: udp }]
stir:
  verification:
    trust_roots_dir: ${trustDir}
    x5u: { allow_http: true, allowed_ports: [${x5uPort}], allow_cidrs: [127.0.0.1/32] }
  dev_pki: { x5u_listen: "127.0.0.1:0" }
data_dir: {data_dir}
traceback: { flush_ms: 50 }
log: { level: silent }
`,
      { port: verifierPort },
    );
    const store = verifier.app.traceback!;
    const caller = await runSipp({
      scenario: scenarioPath('demo/uac.xml'),
      remote: `127.0.0.1:${signer.port}`,
      transport: 'u1',
      calls: CALLS,
      rate: 20,
      timeoutS: 30,
    });
    expect(caller.successful, describeRun(caller)).toBe(CALLS);
    await callee.result;
    await ended(store, 'verified', CALLS, since);

    const r = await store.query({
      by: 'origid',
      origid: '3d0c8a52-1f7e-4a4b-9a6e-0c5b7f2d9e11',
      window: { from: since - 1000, to: Date.now() },
      limit: 100,
    });
    const verified = r.records.filter((x) => x.role === 'verified');
    expect(verified).toHaveLength(CALLS);
    for (const v of verified) {
      expect(v).toMatchObject({
        trunk: 'from-upstream',
        trunkRole: 'terminating',
        customer: null,
        source: { address: '127.0.0.1', transport: 'udp' },
        calling: { canonical: '12025550100' },
        verified: {
          code: 'passed',
          verstat: 'TN-Validation-Passed',
          attest: 'A',
          origid: '3d0c8a52-1f7e-4a4b-9a6e-0c5b7f2d9e11',
          x5u: signer.app.x5u,
          spc: '1234',
        },
        end: { answered: true },
      });
      // The signer's certificate subject, next to its SPC: who to ask next upstream.
      expect(v.verified!.subject).toMatch(/CN=SHAKEN 1234/);
      expect(v.verified!.iat).toBeGreaterThan(0);
    }
  }, 60_000);
});
