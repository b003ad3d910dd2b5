// Issue 4 end to end: SIPp caller -> Stirgate (originating trunk, dev PKI) -> SIPp callee, 1,000 calls.
// The callee checks the Identity header's shape on every call (sip-scenarios/sign/uas-identity.xml); this
// test then reads every INVITE the callee received (its -trace_msg file) and verifies each PASSporT with
// jose against the SP certificate the element serves at x5u, checks the claims against the call's numbers
// (attestation A for the customer's numbers, B otherwise), and has secsipidx verify a sample of them.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { compactVerify, decodeProtectedHeader, importX509 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Element, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import { runSipp, type SippResult, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';

const run = promisify(execFile);

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP) console.warn('\n!!! SKIPPING test/integration/sign-e2e.test.ts: no sipp binary on PATH\n');
/** secsipidx (Debian package secsipidx) on PATH; `-version` exits 1, so look for the file. */
const HAVE_SECSIPIDX = (process.env.PATH ?? '').split(delimiter).some((dir) => {
  try {
    accessSync(join(dir, 'secsipidx'), constants.X_OK);
    return true;
  } catch {
    return false;
  }
});
if (!HAVE_SECSIPIDX) console.warn('\n!!! sign-e2e: secsipidx not installed; its cross-check is skipped\n');

const CALLS = 1000;
const RATE = 200;
const CUSTOMER_ORIGID = '6f1c2a4e-3b5d-4c7e-9f81-0a2b3c4d5e6f';

/** One call: the caller's numbers as sent, and what the PASSporT must say. */
interface PlannedCall {
  readonly calling: string;
  readonly called: string;
  readonly extraHeader: string;
  readonly origTn: string;
  readonly destTn: string;
  readonly attest: 'A' | 'B';
}

/**
 * 1,000 distinct calling numbers in four shapes: the customer's range (1202555*) as +E.164 and as a NANP
 * national number (attestation A), someone else's as +E.164 and as 11 digits (B). Every fourth call also
 * carries the customer's own Identity header, which the element must replace.
 */
function plan(): PlannedCall[] {
  const calls: PlannedCall[] = [];
  for (let i = 0; i < CALLS; i++) {
    const n = String(i).padStart(4, '0');
    const destTn = `1404555${n}`;
    const shape = i % 4;
    const calling = [`+1202555${n}`, `+1310555${n}`, `202555${n}`, `1310555${n}`][shape]!;
    calls.push({
      calling,
      called: `+${destTn}`,
      extraHeader: shape === 2 ? 'Identity: customer.supplied.token' : 'X-Customer: plain',
      origTn: calling.startsWith('+') ? calling.slice(1) : calling.length === 10 ? `1${calling}` : calling,
      destTn,
      attest: shape === 0 || shape === 2 ? 'A' : 'B',
    });
  }
  return calls;
}

/** The INVITEs in a SIPp -trace_msg file: Call-ID -> raw text (retransmissions collapse). */
function receivedInvites(log: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const block of log.split(/^-{20,}.*$/m)) {
    const start = block.indexOf('\nINVITE ');
    if (!/message received/.test(block) || start < 0) continue;
    const msg = block.slice(start + 1);
    const callId = /^Call-ID:\s*(.+)$/im.exec(msg)?.[1]?.trim();
    if (callId !== undefined) out.set(callId, msg);
  }
  return out;
}

function header(msg: string, name: string): string[] {
  const re = new RegExp(`^${name}:\\s*(.*?)\\s*$`, 'gim');
  return [...msg.matchAll(re)].map((m) => m[1]!);
}

function describeRun(r: SippResult): string {
  return `exit ${r.exitCode}, ${r.successful} ok, ${r.failed} failed\n${(r.errorLog ?? '').slice(0, 3000)}\nargs: ${r.args.join(' ')}`;
}

describe.skipIf(!HAVE_SIPP)('signing end to end (SIPp -> Stirgate originating -> SIPp)', () => {
  let signer: Element;
  const work = join(tmpdir(), `stirgate-sign-e2e-${process.pid}`);
  const callsFile = `${work}-calls.csv`;
  const messagesFile = `${work}-callee-messages.log`;
  let caller: SippResult;
  let callee: SippResult;
  const planned = plan();

  beforeAll(async () => {
    const uas = await startSippServer({
      scenario: scenarioPath('sign/uas-identity.xml'),
      transport: 'u1',
      calls: CALLS,
      timeoutS: 60,
      extraArgs: ['-trace_msg', '-message_file', messagesFile],
    });
    await uas.ready;
    signer = await startElement(
      `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
  - { transport: tcp, address: 127.0.0.1, port: {port} }
trunks:
  - name: acme-sbc
    role: originating
    match: { sources: [127.0.0.2/32] }
    route: callee
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${uas.port}, transport: udp }]
customers:
  - name: acme
    trunks: [acme-sbc]
    numbers: ["1202555*"]
    limits: { cps: 10000, burst: 10000, max_concurrent: 100000 }
    origid: ${CUSTOMER_ORIGID}
stir:
  dev_pki:
    x5u_listen: 127.0.0.1:${await freePort('tcp')}
data_dir: {data_dir}
metrics:
  listen: ""
log:
  level: silent
`,
      { port: await freePort('both') },
    );
    await writeFile(
      callsFile,
      `SEQUENTIAL\n${planned.map((c) => `${c.calling};${c.called};${c.extraHeader}`).join('\n')}\n`,
    );
    caller = await runSipp({
      scenario: scenarioPath('sign/uac.xml'),
      remote: `127.0.0.1:${signer.port}`,
      transport: 'u1',
      calls: CALLS,
      rate: RATE,
      concurrent: RATE,
      timeoutS: 60,
      extraArgs: ['-inf', callsFile],
    });
    callee = await Promise.race([
      uas.result,
      new Promise<SippResult>((resolve) => setTimeout(() => resolve(uas.stop()), 5_000)),
    ]);
  }, 90_000);

  afterAll(async () => {
    await signer?.stop();
    await rm(callsFile, { force: true });
    await rm(messagesFile, { force: true });
  });

  it(`${CALLS} calls at ${RATE}/s, zero failures, Identity shape checked by the callee on every call`, () => {
    expect(caller.failed, describeRun(caller)).toBe(0);
    expect(caller.successful, describeRun(caller)).toBe(CALLS);
    expect(callee.failed, describeRun(callee)).toBe(0);
    expect(callee.successful, describeRun(callee)).toBe(CALLS);
  });

  it('every PASSporT verifies with jose against the SP certificate served at x5u; claims equal the call', async () => {
    const x5u = signer.app.x5u!;
    expect(x5u).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sp\.pem$/);
    // What a verifier would dereference: the SP certificate first, then the intermediate.
    const served = await (await fetch(x5u)).text();
    const spPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(served)![0];
    expect(spPem.replace(/\s/g, '')).toBe(
      (await readFile(join(signer.dataDir, 'pki', 'sp.pem'), 'utf8')).replace(/\s/g, ''),
    );
    const key = await importX509(spPem, 'ES256');

    const invites = receivedInvites(await readFile(messagesFile, 'utf8'));
    expect(invites.size).toBe(CALLS);
    const byCalling = new Map(planned.map((c) => [c.calling, c]));
    const attests = { A: 0, B: 0 };
    const now = Math.floor(Date.now() / 1000);
    for (const msg of invites.values()) {
      const from = header(msg, 'From')[0]!;
      const calling = /<sip:([^@;>]+)@/.exec(from)![1]!;
      const want = byCalling.get(calling);
      expect(want, `unexpected caller ${calling}`).toBeDefined();
      byCalling.delete(calling);
      const identities = header(msg, 'Identity');
      expect(identities).toHaveLength(1);
      const value = identities[0]!;
      expect(value).toMatch(
        /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+;info=<http[^>]+>;alg=ES256;ppt=shaken$/,
      );
      expect(value.slice(value.indexOf(';'))).toBe(`;info=<${x5u}>;alg=ES256;ppt=shaken`);
      const jws = value.slice(0, value.indexOf(';'));

      const { payload } = await compactVerify(jws, key);
      expect(decodeProtectedHeader(jws)).toEqual({ alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u });
      const json = new TextDecoder().decode(payload);
      const claims = JSON.parse(json) as Record<string, unknown>;
      // Canonical form: keys in lexicographic order, no white space, exactly the SHAKEN claims.
      expect(Object.keys(claims)).toEqual(['attest', 'dest', 'iat', 'orig', 'origid']);
      expect(JSON.stringify(claims)).toBe(json);
      expect(claims).toMatchObject({
        attest: want!.attest,
        dest: { tn: [want!.destTn] },
        orig: { tn: want!.origTn },
        origid: CUSTOMER_ORIGID,
      });
      expect(Number.isInteger(claims.iat)).toBe(true);
      expect(Math.abs(now - (claims.iat as number))).toBeLessThan(120);
      attests[want!.attest]++;
    }
    expect(byCalling.size).toBe(0);
    expect(attests).toEqual({ A: CALLS / 2, B: CALLS / 2 });
  });

  it.skipIf(!HAVE_SECSIPIDX)(
    'secsipidx -check accepts captured headers (A and B) with the SP certificate',
    async () => {
      const invites = [...receivedInvites(await readFile(messagesFile, 'utf8')).values()];
      const sp = join(signer.dataDir, 'pki', 'sp.pem');
      // Five calls of each attestation level, as captured at the callee.
      const customer = (msg: string): boolean => /^From:.*<sip:\+?1?202555/m.test(msg);
      const sample = [
        ...invites.filter(customer).slice(0, 5),
        ...invites.filter((m) => !customer(m)).slice(0, 5),
      ];
      expect(sample).toHaveLength(10);
      for (const msg of sample) {
        const identity = header(msg, 'Identity')[0]!;
        // -expire 60: the ATIS-1000074 freshness window (secsipidx's default is a few seconds).
        const r = await run('secsipidx', ['-check', '-expire', '60', '-identity', identity, '-p', sp], {
          timeout: 10_000,
        }).catch((err: { stdout?: string; stderr?: string; code?: number }) => err);
        expect(`${r.stdout?.trim()} ${r.stderr?.trim()}`).toBe('ok ');
      }
      // And a header that is not ours is refused by the same command (the oracle can say no).
      const forged = invites[0]!.match(/^Identity:\s*(\S+)/m)![1]!.replace(/\.[^.;]+;/, '.AAAA;');
      await expect(
        run('secsipidx', ['-check', '-expire', '60', '-identity', forged, '-p', sp], { timeout: 10_000 }),
      ).rejects.toThrow();
    },
  );
});
