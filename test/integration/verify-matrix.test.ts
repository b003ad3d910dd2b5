// Issue 5 negative matrix: one test per verification outcome, each from real INVITEs sent by SIPp through a
// running Stirgate (terminating trunk) to a SIPp callee. Identity headers are made here, at test time, with
// a dev PKI and hand-crafted JWS (sip-scenarios/verify/README.md lists the layout of the injection file).
//
// - mark (default policy): the call reaches the callee, which checks verstat on From and P-Asserted-Identity,
//   the Reason cause and the attestation header against the caller's X-Expect (sip-scenarios/verify/
//   uas-verstat.xml); the caller checks the callee's echo too.
// - reject (on_failure: reject, require_identity: true): the caller expects the status and
//   `Reason: STIR;cause=NNN` (sip-scenarios/verify/uac-NNN.xml); calls that pass still reach the callee.
//
// The expected status of each code is written out here (not read from src/stir/codes.ts), so a wrong row in
// the element's table fails this test.
import { createPrivateKey, sign as cryptoSign, type KeyObject, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decisionChannels, type VerificationDecisionEvent } from '../../src/events.js';
import { createDevPki, type DevPki, issueCertificate } from '../../src/stir/pki/dev-pki.js';
import { startX5uServer, type X5uServer } from '../../src/stir/pki/x5u-server.js';
import { Signer } from '../../src/stir/signer.js';
import { type Element, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import {
  runSipp,
  type SippResult,
  type SippServer,
  scenarioPath,
  sippAvailable,
  startSippServer,
} from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP) {
  console.warn(
    '\n!!! SKIPPING test/integration/verify-matrix.test.ts: no sipp binary on PATH (sip-tester)\n',
  );
}

/** Calls per code and mode. */
const CALLS = 3;
const CALLING = '+12025550100';
const CALLED = '+12025550199';
const ORIG_TN = '12025550100';
const DEST_TN = '12025550199';
/** UAC source addresses: the lab element's one trunk and the strict element's two trunks match on them. */
const MARK_IP = '127.0.0.2';
const REJECT_IP = '127.0.0.3';
const X5U_TIMEOUT_MS = 300;
const MAX_BODY_BYTES = 4096;

type Verstat = 'TN-Validation-Passed' | 'TN-Validation-Failed' | 'No-TN-Validation';
type Status = 200 | 403 | 428 | 436 | 437 | 438;

/** One INVITE's Identity and numbers: the fields of sip-scenarios/verify/*.xml injection lines. */
interface Call {
  /** `Identity`, or another name to send no Identity header at all. */
  readonly header: string;
  readonly token: string;
  readonly info: string;
  readonly alg: string;
  readonly ppt: string;
  readonly calling: string;
  readonly called: string;
}

/** What the callee must see (mark) / what the caller must get (reject). */
interface Outcome {
  readonly status: Status;
  readonly verstat: Verstat;
  /** Reason STIR cause when the call continues after a failure; null when none. */
  readonly cause: number | null;
  readonly attest?: 'A' | 'B' | 'C';
}

const PASSED: Outcome = { status: 200, verstat: 'TN-Validation-Passed', cause: null, attest: 'A' };
const ABSENT: Outcome = { status: 428, verstat: 'No-TN-Validation', cause: null };
/** RFC 8224 §6.2.2 / ATIS-1000074 §5.3.2 status for a failure; in mark mode the same number is the cause. */
const failed = (status: 403 | 436 | 437 | 438): Outcome => ({
  status,
  verstat: 'TN-Validation-Failed',
  cause: status,
});

/** X-Expect for uas-verstat.xml: from verstat / PAI verstat / cause / attestation (empty when absent). */
function expectation(o: Outcome): string {
  return `${o.verstat}/${o.verstat}/${o.cause ?? ''}/${o.attest ?? ''}`;
}

/** One call of a SIPp run: what to send, what must come out, and the verification code expected. */
interface Line {
  readonly call: Call;
  readonly outcome: Outcome;
  readonly code: string;
}

function csv(lines: readonly Line[]): string {
  const rows = lines.map(({ call: c, outcome }) => {
    const fields = [c.header, c.token, c.info, c.alg, c.ppt, c.calling, c.called, expectation(outcome)];
    for (const f of fields) if (f.includes(';') || f.includes('\n')) throw new Error(`field with ';': ${f}`);
    return fields.join(';');
  });
  return `SEQUENTIAL\n${rows.join('\n')}\n`;
}

// --- PASSporT crafting (independent of src/stir/passport.ts: JSON.stringify, node:crypto ES256) ---------

const b64u = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

function es256(input: string, key: KeyObject): string {
  // RFC 7518 §3.4: R||S, 64 bytes.
  return cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}

interface CraftOptions {
  readonly key: KeyObject;
  readonly x5u: string;
  readonly header?: Record<string, unknown>;
  readonly claims?: Record<string, unknown>;
  /** Remove these claims. */
  readonly drop?: readonly string[];
  /** Seconds added to now for iat. */
  readonly iatOffsetS?: number;
}

function craft(o: CraftOptions): string {
  const header = { alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u: o.x5u, ...o.header };
  const claims: Record<string, unknown> = {
    attest: 'A',
    dest: { tn: [DEST_TN] },
    iat: Math.floor(Date.now() / 1000) + (o.iatOffsetS ?? 0),
    orig: { tn: ORIG_TN },
    origid: randomUUID(),
    ...o.claims,
  };
  for (const k of o.drop ?? []) delete claims[k];
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  return `${input}.${es256(input, o.key)}`;
}

function call(token: string, x5u: string, over: Partial<Call> = {}): Call {
  return {
    header: 'Identity',
    token,
    info: x5u,
    alg: 'ES256',
    ppt: 'shaken',
    calling: CALLING,
    called: CALLED,
    ...over,
  };
}

/** Split a full-form Identity value made by our Signer into the injection fields. */
function fromIdentity(value: string): Call {
  const m = /^([^;]+);info=<([^>]+)>;alg=([^;]+);ppt=([^;]+)$/.exec(value);
  if (m === null) throw new Error(`unexpected Identity shape: ${value}`);
  return call(m[1]!, m[2]!, { alg: m[3]!, ppt: m[4]! });
}

// --- fixtures ------------------------------------------------------------------------------------------

interface Lab {
  readonly dir: string;
  readonly pki: DevPki;
  readonly spKey: KeyObject;
  /** A key whose certificate is served nowhere (bad signature). */
  readonly otherKey: KeyObject;
  readonly otherPki: DevPki;
  readonly expiredKey: KeyObject;
  readonly noTnKey: KeyObject;
  readonly x5u: X5uServer;
  readonly silent: { server: Server; port: number; sockets: Set<Socket> };
}

let lab: Lab | undefined;
let uas: SippServer | undefined;
/** Calls that must reach the callee (and pass its checks) over the whole file. */
let expectedAtCallee = 0;
const elements: Partial<Record<'mark' | 'reject' | 'strict', Element>> = {};

async function startSilentServer(): Promise<Lab['silent']> {
  const sockets = new Set<Socket>();
  // Accepts and never answers: the certificate fetch must give up after x5u.timeout_ms.
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('silent server has no port');
  return { server, port: address.port, sockets };
}

async function setUp(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stirgate-verify-matrix-'));
  const pki = await createDevPki(join(dir, 'pki'), { spc: '1234' });
  const otherPki = await createDevPki(join(dir, 'other-pki'), { spc: '5678' });
  const issuer = { issuerCertPem: pki.intermediatePem!, issuerKeyPem: pki.intermediateKeyPem! };
  const day = 86_400_000;
  const expired = await issueCertificate({
    ...issuer,
    notBefore: new Date(Date.now() - 30 * day),
    notAfter: new Date(Date.now() - day),
  });
  const noTn = await issueCertificate({ ...issuer, spc: null });
  const chain = (leaf: string): string => `${leaf.trimEnd()}\n${pki.intermediatePem!}`;
  const x5u = await startX5uServer({
    files: {
      'sp.pem': pki.spChainPem,
      'untrusted.pem': otherPki.spChainPem,
      'expired.pem': chain(expired.certPem),
      'notn.pem': chain(noTn.certPem),
      // Larger than x5u.max_body_bytes.
      'big.pem': pki.spChainPem.repeat(Math.ceil((2 * MAX_BODY_BYTES) / pki.spChainPem.length)),
    },
  });
  const silent = await startSilentServer();
  const trust = join(dir, 'trust');
  await mkdir(trust);
  await writeFile(join(trust, 'ca.pem'), pki.caPem);
  lab = {
    dir,
    pki,
    spKey: createPrivateKey(pki.spKeyPem),
    otherKey: createPrivateKey(otherPki.spKeyPem),
    otherPki,
    expiredKey: createPrivateKey(expired.keyPem),
    noTnKey: createPrivateKey(noTn.keyPem),
    x5u,
    silent,
  };

  const callee = await startSippServer({
    scenario: scenarioPath('verify/uas-verstat.xml'),
    transport: 'u1',
    calls: 100_000,
    timeoutS: 120,
  });
  uas = callee;
  await callee.ready;

  const start = async (text: string): Promise<Element> =>
    startElement(text, { port: await freePort('both') });
  // One element per mode; the strict one (https only) serves both modes through two trunks.
  elements.mark = await start(elementYaml(trunkYaml('peer-mark', MARK_IP, 'mark'), false, callee.port));
  elements.reject = await start(
    elementYaml(trunkYaml('peer-reject', REJECT_IP, 'reject'), false, callee.port),
  );
  elements.strict = await start(
    elementYaml(
      trunkYaml('strict-mark', MARK_IP, 'mark') + trunkYaml('strict-reject', REJECT_IP, 'reject'),
      true,
      callee.port,
    ),
  );
}

/**
 * A verifying element: `trunks` (terminating) route to the callee on `calleePort`. The lab x5u policy lets
 * http through to the lab's x5u and silent servers on 127.0.0.1 only; `strict` requires https.
 */
function elementYaml(trunks: string, strict: boolean, calleePort: number): string {
  return `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
  - { transport: tcp, address: 127.0.0.1, port: {port} }
trunks:
${trunks}
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${calleePort}, transport: udp }]
stir:
  verification:
    trust_roots_dir: ${join(lab!.dir, 'trust')}
    max_age_s: 60
    max_future_skew_s: 5
    x5u:
      allow_http: ${!strict}
      allowed_ports: [${lab!.x5u.port}, ${lab!.silent.port}]
      allow_cidrs: [127.0.0.1/32]
      deny_cidrs: [127.0.0.2/32]
      timeout_ms: ${X5U_TIMEOUT_MS}
      max_body_bytes: ${MAX_BODY_BYTES}
  dev_pki:
    x5u_listen: 127.0.0.1:0
data_dir: {data_dir}
metrics:
  listen: ""
log:
  level: silent
`;
}

function trunkYaml(name: string, ip: string, onFailure: 'mark' | 'reject'): string {
  return `
  - name: ${name}
    role: terminating
    match: { sources: [${ip}/32] }
    route: callee
    verification: { on_failure: ${onFailure}, require_identity: ${onFailure === 'reject'} }`;
}

async function tearDown(): Promise<void> {
  for (const e of Object.values(elements)) await e?.stop();
  if (lab !== undefined) {
    await lab.x5u.close();
    for (const s of lab.silent.sockets) s.destroy();
    await new Promise<void>((resolve) => lab!.silent.server.close(() => resolve()));
    await rm(lab.dir, { recursive: true, force: true });
  }
}

// --- driving calls ----------------------------------------------------------------------------------------

type Mode = 'mark' | 'reject';

function describeRun(r: SippResult): string {
  return [
    `exit ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}, ${r.successful} ok, ${r.failed} failed`,
    r.errorLog ? `errors:\n${r.errorLog.slice(0, 4000)}` : '',
    r.stderr ? `stderr: ${r.stderr.slice(0, 1000)}` : '',
    `args: ${r.args.join(' ')}`,
  ].join('\n');
}

/**
 * One SIPp caller run: `lines` calls, one after the other, through `element` from the mode's address.
 * `scenario` is uac-200.xml when the call must be delivered, else uac-<status>.xml. The element's own
 * decision events (stirgate:stir:verification_decision) must name the expected code for every call.
 */
async function place(
  element: Element,
  mode: Mode,
  lines: readonly Line[],
  status: Status,
  opts: { timeoutS?: number; shared?: boolean } = {},
): Promise<void> {
  const file = join(lab!.dir, `calls-${randomUUID()}.csv`);
  await writeFile(file, csv(lines));
  const decisions: VerificationDecisionEvent[] = [];
  const onDecision = (m: unknown): void => {
    decisions.push(m as VerificationDecisionEvent);
  };
  decisionChannels.verification.subscribe(onDecision);
  const r = await runSipp({
    scenario: scenarioPath(`verify/uac-${status}.xml`),
    remote: `127.0.0.1:${element.port}`,
    localIp: mode === 'mark' ? MARK_IP : REJECT_IP,
    transport: 'u1',
    calls: lines.length,
    // One at a time: the replay case depends on order, and every case stays deterministic.
    concurrent: 1,
    rate: 100,
    timeoutS: opts.timeoutS ?? 15,
    extraArgs: ['-inf', file],
  }).finally(() => decisionChannels.verification.unsubscribe(onDecision));
  if (status === 200 && opts.shared !== false) expectedAtCallee += lines.length;
  // The element's own account first (the most precise message), then what SIPp saw on the wire.
  const action = (l: Line): string => (mode === 'reject' && l.outcome.status !== 200 ? 'reject' : 'continue');
  expect(decisions.map((d) => `${d.code}/${d.action}`)).toEqual(lines.map((l) => `${l.code}/${action(l)}`));
  expect(r.failed, describeRun(r)).toBe(0);
  expect(r.successful, describeRun(r)).toBe(lines.length);
}

/** Run `make` CALLS times (fresh Identity each time unless it caches) through the element in `mode`. */
async function runCase(mode: Mode, c: MatrixCase): Promise<void> {
  const lines: Line[] = [];
  for (let i = 0; i < CALLS; i++) lines.push({ call: await c.make(), outcome: c.outcome, code: c.code });
  const target = c.element === 'strict' ? elements.strict! : elements[mode]!;
  // mark: every call is delivered (200) and the callee checks the marking; reject: the mapped status,
  // except outcomes that continue (passed).
  const status: Status = mode === 'mark' || c.outcome.status === 200 ? 200 : c.outcome.status;
  const t0 = performance.now();
  await place(target, mode, lines, status);
  if (c.maxMs !== undefined) expect(performance.now() - t0).toBeLessThan(c.maxMs);
}

// --- the matrix -------------------------------------------------------------------------------------------

interface MatrixCase {
  /** VerifyCode the element must reach (the name of the test). */
  readonly code: string;
  readonly what: string;
  readonly outcome: Outcome;
  readonly make: () => Call | Promise<Call>;
  readonly element?: 'lab' | 'strict';
  /** The whole run (CALLS calls) must end within this many ms. */
  readonly maxMs?: number;
}

const url = (name: string, host = '127.0.0.1', port?: number): string =>
  `http://${host}:${port ?? lab!.x5u.port}/${name}`;

const CASES: readonly MatrixCase[] = [
  {
    code: 'passed',
    what: 'signed by our Signer with the trusted SP certificate',
    outcome: PASSED,
    make: async () => {
      const signer = new Signer({ privateKey: lab!.spKey, x5u: url('sp.pem') });
      const r = await signer.sign({ attest: 'A', origTn: CALLING, destTns: [CALLED], origid: randomUUID() });
      if (!r.ok) throw new Error(`sign failed: ${r.code}`);
      return fromIdentity(r.identity);
    },
  },
  {
    code: 'passed',
    what: 'hand-made PASSporT, ppt quoted ("shaken"), attestation B',
    outcome: { ...PASSED, attest: 'B' },
    make: () =>
      call(craft({ key: lab!.spKey, x5u: url('sp.pem'), claims: { attest: 'B' } }), url('sp.pem'), {
        ppt: '"shaken"',
      }),
  },
  {
    code: 'no_identity',
    what: 'no Identity header',
    outcome: ABSENT,
    make: () =>
      call(craft({ key: lab!.spKey, x5u: url('sp.pem') }), url('sp.pem'), { header: 'X-Not-Identity' }),
  },
  {
    code: 'unsupported_ppt',
    what: 'only a ppt=div Identity header',
    outcome: ABSENT,
    make: () =>
      call(craft({ key: lab!.spKey, x5u: url('sp.pem'), header: { ppt: 'div' } }), url('sp.pem'), {
        ppt: 'div',
      }),
  },
  {
    code: 'malformed',
    what: 'garbage header',
    outcome: failed(438),
    make: () => call('garbage', url('sp.pem')),
  },
  {
    code: 'malformed',
    what: 'bad base64url (standard base64 with padding)',
    outcome: failed(438),
    make: () => {
      const token = craft({ key: lab!.spKey, x5u: url('sp.pem') });
      const b64 = token
        .split('.')
        .map((s) => Buffer.from(s, 'base64url').toString('base64'))
        .join('.');
      return call(b64, url('sp.pem'));
    },
  },
  {
    code: 'malformed',
    what: 'wrong ppt in the PASSporT (ppt=shaken parameter, "div" inside)',
    outcome: failed(438),
    make: () => call(craft({ key: lab!.spKey, x5u: url('sp.pem'), header: { ppt: 'div' } }), url('sp.pem')),
  },
  {
    code: 'unsupported_alg',
    what: 'wrong alg (ES384)',
    outcome: failed(437),
    make: () =>
      call(craft({ key: lab!.spKey, x5u: url('sp.pem'), header: { alg: 'ES384' } }), url('sp.pem'), {
        alg: 'ES384',
      }),
  },
  {
    code: 'bad_typ',
    what: 'typ JWT',
    outcome: failed(438),
    make: () => call(craft({ key: lab!.spKey, x5u: url('sp.pem'), header: { typ: 'JWT' } }), url('sp.pem')),
  },
  {
    code: 'missing_claim',
    what: 'no origid claim',
    outcome: failed(438),
    make: () => call(craft({ key: lab!.spKey, x5u: url('sp.pem'), drop: ['origid'] }), url('sp.pem')),
  },
  {
    code: 'bad_claim',
    what: 'iat as a string',
    outcome: failed(438),
    make: () =>
      call(
        craft({
          key: lab!.spKey,
          x5u: url('sp.pem'),
          claims: { iat: String(Math.floor(Date.now() / 1000)) },
        }),
        url('sp.pem'),
      ),
  },
  {
    code: 'stale',
    what: 'iat 120 s old (max_age_s 60)',
    outcome: failed(403),
    make: () => call(craft({ key: lab!.spKey, x5u: url('sp.pem'), iatOffsetS: -120 }), url('sp.pem')),
  },
  {
    code: 'future_iat',
    what: 'iat 60 s ahead (max_future_skew_s 5)',
    outcome: failed(403),
    make: () => call(craft({ key: lab!.spKey, x5u: url('sp.pem'), iatOffsetS: 60 }), url('sp.pem')),
  },
  {
    code: 'x5u_disallowed',
    what: 'x5u http when https is required',
    outcome: failed(436),
    element: 'strict',
    make: () => call(craft({ key: lab!.spKey, x5u: url('sp.pem') }), url('sp.pem')),
  },
  {
    code: 'x5u_disallowed',
    what: 'x5u to a denied address (127.0.0.2, deny_cidrs)',
    outcome: failed(436),
    make: () => {
      const x5u = url('sp.pem', '127.0.0.2');
      return call(craft({ key: lab!.spKey, x5u }), x5u);
    },
  },
  {
    code: 'info_mismatch',
    what: 'info names another URL than the PASSporT x5u',
    outcome: failed(436),
    make: () => call(craft({ key: lab!.spKey, x5u: url('sp.pem') }), url('other.pem')),
  },
  {
    code: 'cert_fetch_failed',
    what: 'x5u 404',
    outcome: failed(436),
    make: () => call(craft({ key: lab!.spKey, x5u: url('missing.pem') }), url('missing.pem')),
  },
  {
    code: 'cert_fetch_failed',
    what: `x5u that never answers (timeout_ms ${X5U_TIMEOUT_MS})`,
    outcome: failed(436),
    // One fetch waits timeout_ms; the failure is then cached, so the other calls do not wait again.
    maxMs: 3 * X5U_TIMEOUT_MS + 1500,
    make: () => {
      const x5u = url('sp.pem', '127.0.0.1', lab!.silent.port);
      return call(craft({ key: lab!.spKey, x5u }), x5u);
    },
  },
  {
    code: 'cert_fetch_failed',
    what: `oversize x5u body (max_body_bytes ${MAX_BODY_BYTES})`,
    outcome: failed(436),
    make: () => call(craft({ key: lab!.spKey, x5u: url('big.pem') }), url('big.pem')),
  },
  {
    code: 'cert_untrusted',
    what: 'certificate not chaining to a trusted root',
    outcome: failed(437),
    make: () => call(craft({ key: lab!.otherKey, x5u: url('untrusted.pem') }), url('untrusted.pem')),
  },
  {
    code: 'cert_expired',
    what: 'expired certificate',
    outcome: failed(437),
    make: () => call(craft({ key: lab!.expiredKey, x5u: url('expired.pem') }), url('expired.pem')),
  },
  {
    code: 'no_tnauthlist',
    what: 'certificate without TNAuthList',
    outcome: failed(437),
    make: () => call(craft({ key: lab!.noTnKey, x5u: url('notn.pem') }), url('notn.pem')),
  },
  {
    code: 'bad_signature',
    what: 'signed by a key that is not the certificate\u2019s',
    outcome: failed(438),
    make: () => call(craft({ key: lab!.otherKey, x5u: url('sp.pem') }), url('sp.pem')),
  },
  {
    code: 'orig_mismatch',
    what: 'orig.tn is not the calling number',
    outcome: failed(438),
    make: () =>
      call(craft({ key: lab!.spKey, x5u: url('sp.pem') }), url('sp.pem'), { calling: '+12025550111' }),
  },
  {
    code: 'dest_mismatch',
    what: 'dest.tn is not the called number',
    outcome: failed(438),
    make: () =>
      call(craft({ key: lab!.spKey, x5u: url('sp.pem') }), url('sp.pem'), { called: '+12025550188' }),
  },
];

describe.skipIf(!HAVE_SIPP)('verification matrix through a running element (SIPp)', () => {
  beforeAll(setUp, 60_000);
  afterAll(async () => {
    // Every delivered call passed the callee's checks, and nothing else reached it.
    const r = await uas?.stop();
    await tearDown();
    if (r !== undefined) {
      expect(r.failed, describeRun(r)).toBe(0);
      expect(r.successful, describeRun(r)).toBe(expectedAtCallee);
    }
  }, 30_000);

  for (const mode of ['mark', 'reject'] as const) {
    describe(mode, () => {
      for (const c of CASES) {
        const shown =
          mode === 'mark'
            ? `${c.outcome.verstat}${c.outcome.cause !== null ? ` cause ${c.outcome.cause}` : ''}`
            : String(c.outcome.status);
        it(`${c.code}: ${c.what} -> ${shown}`, () => runCase(mode, c));
      }

      it(`replay: the same Identity twice -> ${mode === 'mark' ? 'Passed, then Failed cause 438' : '200, then 438'}`, async () => {
        const once = craft({ key: lab!.spKey, x5u: url('sp.pem') });
        const first: Line = { call: call(once, url('sp.pem')), outcome: PASSED, code: 'passed' };
        const again: Line[] = Array.from({ length: CALLS - 1 }, () => ({
          ...first,
          outcome: failed(438),
          code: 'replay',
        }));
        if (mode === 'mark') {
          await place(elements.mark!, 'mark', [first, ...again], 200);
        } else {
          await place(elements.reject!, 'reject', [first], 200);
          await place(elements.reject!, 'reject', again, 438);
        }
      });
    });
  }

  // ECDSA malleability: a signature (r, s) has a twin (r, n - s) that verifies as well (node:crypto does not
  // require low-S), so a replay store keyed by the signature text would take the twin for a new PASSporT.
  // The verifier keys replay on r (src/stir/verifier.ts step 11).
  it('replay with the twin signature (s -> n - s) -> Passed, then Failed cause 438', async () => {
    const uasAlone = await startSippServer({
      scenario: scenarioPath('verify/uas-verstat.xml'),
      transport: 'u1',
      calls: 2,
      timeoutS: 10,
    });
    const alone = await startElement(
      elementYaml(trunkYaml('peer-mark', MARK_IP, 'mark'), false, uasAlone.port),
      { port: await freePort('both') },
    );
    try {
      await uasAlone.ready;
      const once = craft({ key: lab!.spKey, x5u: url('sp.pem') });
      const first: Line = { call: call(once, url('sp.pem')), outcome: PASSED, code: 'passed' };
      const twin: Line = {
        call: call(twinSignature(once), url('sp.pem')),
        outcome: failed(438),
        code: 'replay',
      };
      await place(alone, 'mark', [first, twin], 200, { timeoutS: 4, shared: false });
    } finally {
      await alone.stop();
      await uasAlone.stop();
    }
  }, 30_000);
});

/** ES256 signature malleability: (r, s) -> (r, n - s) over the same signing input (SEC 1 §4.1.4). */
function twinSignature(token: string): string {
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const [h, p, sig] = token.split('.') as [string, string, string];
  const raw = Buffer.from(sig, 'base64url');
  const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
  const twin = Buffer.concat([
    raw.subarray(0, 32),
    Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'),
  ]);
  return `${h}.${p}.${twin.toString('base64url')}`;
}
