// Trust boundary of a terminating trunk, end to end with SIPp (the Foundation issue's security defect): a peer
// that claims its own call was verified (a verstat in From, wherever it is written, and in
// P-Asserted-Identity, `X-Attestation: A`, `Reason: STIR;cause=438`) must not be believed. The callee must
// see only the verifying element's verdict, whatever route the call takes:
//
//   SIPp UAC 127.0.0.2 --peer-single--> Stirgate (verify, mark) ------------------------------> SIPp UAS
//   SIPp UAC 127.0.0.3 --peer-two-----> Stirgate (verify, mark) --> SIPp UAS-503, then -------> SIPp UAS
//
// Each From form of the peer (sip-scenarios/trust-boundary/README.md) is placed with a good Identity (our
// Signer, the test PKI; attestation B, so a callee seeing the peer's A is told apart from ours), the same
// with its signature corrupted, and no Identity at all. What each callee received is read from its SIPp
// message trace (-trace_msg), parsed here: for every call, both hops of the two-hop route see exactly what
// the single-hop callee sees, and that is ours alone:
// - From: exactly one verstat, on the calling number's user part, with the verdict (3GPP TS 24.229
//   §7.2A.20); none on a From without a telephone number (the verstat then rides on P-Asserted-Identity).
// - P-Asserted-Identity: exactly one verstat, the verdict.
// - X-Attestation (the trunk's attestation_header): exactly ours (B) when verification passed, else none.
// - Reason STIR: exactly ours (RFC 8224 §6.2.2, RFC 9410 §3) when the call continues after a failure, else
//   none.
import { createPrivateKey, type KeyObject, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decisionChannels, type VerificationDecisionEvent } from '../../src/events.js';
import { createDevPki } from '../../src/stir/pki/dev-pki.js';
import { startX5uServer, type X5uServer } from '../../src/stir/pki/x5u-server.js';
import { Signer } from '../../src/stir/signer.js';
import { type Element, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import {
  DIRECT_MARKERS,
  runSipp,
  type SippResult,
  scenarioPath,
  sippAvailable,
  startSippServer,
} from '../support/sipp.js';
import {
  headerValues,
  type ReceivedMessage,
  receivedRequests,
  splitCommaValues,
} from '../support/sipp-trace.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP) {
  console.warn(
    '\n!!! SKIPPING test/integration/trust-boundary.test.ts: no sipp binary on PATH (sip-tester)\n',
  );
}

/** Calls per Identity kind, From form and route. */
const CALLS = 2;
const CALLING = '+12025550100';
const CALLED = '+12025550199';
/** What the peer claims about its own call (sip-scenarios/trust-boundary/uac.xml). */
const PEER_VERSTAT = 'TN-Validation-Passed';
/** Our good Identity's attestation: not the peer's claim (uac.xml's X-Attestation: A), so the two cannot be confused. */
const OUR_ATTEST = 'B';
const SINGLE_IP = '127.0.0.2';
const TWO_HOP_IP = '127.0.0.3';
/** The caller's address when it calls the callee directly (the callee's leak check names .2 and .3). */
const DIRECT_IP = '127.0.0.4';

type Route = 'single' | 'two-hop';
type Kind = 'good' | 'bad' | 'none';
type Verstat = 'TN-Validation-Passed' | 'TN-Validation-Failed' | 'No-TN-Validation';
const ROUTES: readonly Route[] = ['single', 'two-hop'];
const KINDS: readonly Kind[] = ['good', 'bad', 'none'];

/** The peer's From URIs (the three forms), each with a forged verstat. */
interface FromForm {
  readonly name: string;
  readonly what: string;
  readonly uri: string;
  /** The From carries a telephone number, so our verstat goes on its user part. */
  readonly number: boolean;
}

const FORMS: readonly FromForm[] = [
  {
    name: 'user-part',
    what: 'a verstat on the user part',
    uri: `sip:${CALLING};verstat=${PEER_VERSTAT}@example.com;user=phone`,
    number: true,
  },
  {
    name: 'uri-param',
    what: 'a verstat on the user part and another as a URI parameter',
    uri: `sip:${CALLING};verstat=${PEER_VERSTAT}@example.com;user=phone;verstat=${PEER_VERSTAT}`,
    number: true,
  },
  {
    name: 'anonymous',
    what: 'no telephone number and a verstat on its user part',
    uri: `sip:anonymous;verstat=${PEER_VERSTAT}@example.com`,
    number: false,
  },
];

/** The verdict each kind must produce, written out here (not read from src/stir/codes.ts). */
const VERDICT: Readonly<
  Record<Kind, { code: string; verstat: Verstat; attestation: readonly string[]; reasons: readonly string[] }>
> = {
  good: { code: 'passed', verstat: 'TN-Validation-Passed', attestation: [OUR_ATTEST], reasons: [] },
  // RFC 8224 §6.2.2: 438 Invalid Identity Header, carried as RFC 9410 §3's Reason in mark mode.
  bad: {
    code: 'bad_signature',
    verstat: 'TN-Validation-Failed',
    attestation: [],
    reasons: ['STIR;cause=438;text="Invalid Identity Header"'],
  },
  none: { code: 'no_identity', verstat: 'No-TN-Validation', attestation: [], reasons: [] },
};

/** The verification claims one INVITE carried to a callee. */
interface Claims {
  /** Every verstat value in From, user part or URI parameter. */
  readonly fromVerstats: readonly string[];
  /** The verstat of From's user part, null when it has none. */
  readonly fromUserVerstat: string | null;
  readonly paiVerstats: readonly string[];
  readonly attestation: readonly string[];
  /** Every Reason value whose protocol is STIR. */
  readonly stirReasons: readonly string[];
}

function expectedClaims(form: FromForm, kind: Kind): Claims {
  const v = VERDICT[kind];
  return {
    fromVerstats: form.number ? [v.verstat] : [],
    fromUserVerstat: form.number ? v.verstat : null,
    paiVerstats: [v.verstat],
    attestation: v.attestation,
    stirReasons: v.reasons,
  };
}

const VERSTAT_ANYWHERE = /verstat=([^;@>?&\s]*)/gi;

function verstats(value: string): string[] {
  return [...value.matchAll(VERSTAT_ANYWHERE)].map((m) => m[1]!);
}

/** The URI of a name-addr (between < and >), or the addr-spec itself. */
function uriOf(nameAddr: string): string {
  const m = /<([^>]*)>/.exec(nameAddr);
  return m === null ? nameAddr.split(';tag=')[0]!.trim() : m[1]!;
}

function claimsOf(invite: ReceivedMessage): Claims {
  const froms = headerValues(invite, 'from');
  if (froms.length !== 1) throw new Error(`INVITE with ${froms.length} From headers:\n${invite.text}`);
  const from = uriOf(froms[0]!);
  const user = /^sips?:([^@]*)@/i.exec(from)?.[1] ?? '';
  const pai = headerValues(invite, 'p-asserted-identity').flatMap(splitCommaValues);
  return {
    fromVerstats: verstats(from),
    fromUserVerstat: verstats(user)[0] ?? null,
    paiVerstats: pai.flatMap((p) => verstats(uriOf(p))),
    attestation: headerValues(invite, 'x-attestation'),
    stirReasons: headerValues(invite, 'reason')
      .flatMap(splitCommaValues)
      .filter((r) => /^STIR\s*(;|$)/i.test(r)),
  };
}

/** The verification headers exactly as received, for comparing one route with the other. */
function verificationHeaders(invite: ReceivedMessage): string[] {
  return [
    `From URI: ${uriOf(headerValues(invite, 'from')[0] ?? '')}`,
    ...headerValues(invite, 'p-asserted-identity').map((v) => `P-Asserted-Identity: ${v}`),
    ...headerValues(invite, 'x-attestation').map((v) => `X-Attestation: ${v}`),
    ...headerValues(invite, 'reason').map((v) => `Reason: ${v}`),
  ];
}

/** Callee-side INVITEs by their X-Case (`<form>/<route>/<kind>/<n>`, set by the caller, passed through). */
function byCase(invites: readonly ReceivedMessage[]): Map<string, ReceivedMessage> {
  const out = new Map<string, ReceivedMessage>();
  for (const invite of invites) {
    const id = headerValues(invite, 'x-case')[0];
    if (id === undefined) throw new Error(`INVITE without X-Case:\n${invite.text}`);
    // A retransmission of the same INVITE repeats its X-Case: keep the first.
    if (!out.has(id)) out.set(id, invite);
  }
  return out;
}

function describeRun(r: SippResult): string {
  return [
    `exit ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}, ${r.successful} ok, ${r.failed} failed`,
    r.errorLog ? `errors:\n${r.errorLog.slice(0, 3000)}` : '',
    `args: ${r.args.join(' ')}`,
  ].join('\n');
}

// --- fixtures ----------------------------------------------------------------------------------------------

let dir: string;
let x5u: X5uServer;
let signer: Signer;
let element: Element;
let calleePort: number;
let firstHopPort: number;

async function makeLab(): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), 'stirgate-trust-boundary-'));
  // The test PKI, made now: root -> intermediate -> SP; its chain served over http on loopback.
  const pki = await createDevPki(join(dir, 'pki'), { spc: '1234' });
  x5u = await startX5uServer({ files: { 'sp.pem': pki.spChainPem } });
  const trust = join(dir, 'trust');
  await mkdir(trust);
  await writeFile(join(trust, 'ca.pem'), pki.caPem);
  const key: KeyObject = createPrivateKey(pki.spKeyPem);
  signer = new Signer({ privateKey: key, x5u: x5u.url('sp.pem') });
  calleePort = await freePort('udp');
  firstHopPort = await freePort('udp');
  element = await startElement(
    `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
trunks:
  - name: peer-single
    role: terminating
    match: { sources: [${SINGLE_IP}/32] }
    route: single
    verification: { on_failure: mark, attestation_header: X-Attestation }
  - name: peer-two
    role: terminating
    match: { sources: [${TWO_HOP_IP}/32] }
    route: two-hop
    verification: { on_failure: mark, attestation_header: X-Attestation }
routes:
  - name: single
    next_hops: [{ address: 127.0.0.1, port: ${calleePort}, transport: udp }]
  - name: two-hop
    next_hops:
      - { address: 127.0.0.1, port: ${firstHopPort}, transport: udp }
      - { address: 127.0.0.1, port: ${calleePort}, transport: udp }
    failover_on: [503]
stir:
  verification:
    trust_roots_dir: ${trust}
    # The test x5u server is plain http on loopback: allowed explicitly, nothing else.
    x5u: { allow_http: true, allowed_ports: [${x5u.port}], allow_cidrs: [127.0.0.1/32] }
  dev_pki: { x5u_listen: "127.0.0.1:0" }
data_dir: {data_dir}
metrics: { listen: "" }
log: { level: silent }
`,
    { port: await freePort('both') },
  );
}

// --- the injection file (sip-scenarios/trust-boundary/README.md) -------------------------------------------

interface Line {
  readonly kind: Kind;
  readonly id: string;
  readonly fields: readonly string[];
}

/** A fresh good Identity (fresh iat and origid: the replay check never sees one twice), as injection fields. */
function goodIdentity(): string[] {
  const r = signer.signSync({ attest: OUR_ATTEST, origTn: CALLING, destTns: [CALLED], origid: randomUUID() });
  if (!r.ok) throw new Error(`sign failed: ${r.code}`);
  const m = /^([^;]+);info=<([^>]+)>;alg=([^;]+);ppt=([^;]+)$/.exec(r.identity);
  if (m === null) throw new Error(`unexpected Identity shape: ${r.identity}`);
  return ['Identity', m[1]!, m[2]!, m[3]!, m[4]!];
}

/** The same JWS with one signature character changed: still well-formed, no longer valid. */
function corruptSignature(jws: string): string {
  const [header, payload, sig] = jws.split('.') as [string, string, string];
  const i = Math.floor(sig.length / 2);
  return `${header}.${payload}.${sig.slice(0, i)}${sig[i] === 'A' ? 'B' : 'A'}${sig.slice(i + 1)}`;
}

function makeLines(form: FromForm, route: Route): Line[] {
  const lines: Line[] = [];
  for (const kind of KINDS) {
    for (let n = 1; n <= CALLS; n++) {
      const [, jws, info, alg, ppt] = goodIdentity() as [string, string, string, string, string];
      const fields =
        kind === 'good'
          ? ['Identity', jws, info, alg, ppt]
          : kind === 'bad'
            ? ['Identity', corruptSignature(jws), info, alg, ppt]
            : // Any other header name: the call carries no Identity header.
              ['X-No-Identity', jws, info, alg, ppt];
      const id = `${form.name}/${route}/${kind}/${n}`;
      lines.push({ kind, id, fields: [...fields, id] });
    }
  }
  return lines;
}

async function writeInjection(name: string, lines: readonly Line[]): Promise<string> {
  for (const l of lines) {
    for (const f of l.fields)
      if (f.includes(';') || f.includes('\n')) throw new Error(`field with ';': ${f}`);
  }
  const file = join(dir, name);
  await writeFile(file, `SEQUENTIAL\n${lines.map((l) => l.fields.join(';')).join('\n')}\n`);
  return file;
}

// --- one From form: both routes, every kind ----------------------------------------------------------------

interface Placed {
  readonly lines: Readonly<Record<Route, readonly Line[]>>;
  readonly callers: Readonly<Record<Route, SippResult>>;
  readonly callee: SippResult;
  readonly firstHop: SippResult;
  /** The verification decisions the element published, per trunk, in call order. */
  readonly decisions: Readonly<Record<string, string[]>>;
  readonly calleeInvites: Map<string, ReceivedMessage>;
  readonly firstHopInvites: Map<string, ReceivedMessage>;
}

async function place(form: FromForm): Promise<Placed> {
  const lines = { single: makeLines(form, 'single'), 'two-hop': makeLines(form, 'two-hop') };
  const perRoute = KINDS.length * CALLS;
  const traces = {
    callee: join(dir, `${form.name}-callee.msg`),
    firstHop: join(dir, `${form.name}-hop1.msg`),
  };
  const callee = await startSippServer({
    scenario: scenarioPath('trust-boundary/uas.xml'),
    transport: 'u1',
    localPort: calleePort,
    calls: 2 * perRoute,
    timeoutS: 20,
    extraArgs: ['-trace_msg', '-message_file', traces.callee],
  });
  const firstHop = await startSippServer({
    scenario: scenarioPath('failover/uas-503.xml'),
    transport: 'u1',
    localPort: firstHopPort,
    calls: perRoute,
    timeoutS: 20,
    extraArgs: ['-trace_msg', '-message_file', traces.firstHop],
  });
  await Promise.all([callee.ready, firstHop.ready]);

  const decisions: Record<string, string[]> = {};
  const onDecision = (m: unknown): void => {
    const e = m as VerificationDecisionEvent;
    const list = decisions[e.trunk] ?? [];
    list.push(`${e.code}/${e.action}`);
    decisions[e.trunk] = list;
  };
  decisionChannels.verification.subscribe(onDecision);
  const call = async (route: Route): Promise<SippResult> =>
    runSipp({
      scenario: scenarioPath('trust-boundary/uac.xml'),
      remote: `127.0.0.1:${element.port}`,
      localIp: route === 'single' ? SINGLE_IP : TWO_HOP_IP,
      transport: 'u1',
      calls: perRoute,
      // One at a time per route: decisions come back in the injection file's order.
      concurrent: 1,
      rate: 100,
      timeoutS: 15,
      keys: { from_uri: form.uri },
      extraArgs: ['-inf', await writeInjection(`${form.name}-${route}.csv`, lines[route])],
    });
  const [single, twoHop] = await Promise.all([call('single'), call('two-hop')]).finally(() =>
    decisionChannels.verification.unsubscribe(onDecision),
  );
  // Both servers exit by themselves after their calls; stop() bounds a run where some never came.
  const settle = async (s: typeof callee): Promise<SippResult> => {
    const late = setTimeout(() => void s.stop(), 5_000);
    try {
      return await s.result;
    } finally {
      clearTimeout(late);
    }
  };
  const [calleeResult, firstHopResult] = await Promise.all([settle(callee), settle(firstHop)]);
  const invites = async (file: string): Promise<Map<string, ReceivedMessage>> =>
    byCase(receivedRequests(await readFile(file, 'utf8').catch(() => ''), 'INVITE'));
  return {
    lines,
    callers: { single, 'two-hop': twoHop },
    callee: calleeResult,
    firstHop: firstHopResult,
    decisions,
    calleeInvites: await invites(traces.callee),
    firstHopInvites: await invites(traces.firstHop),
  };
}

describe.skipIf(!HAVE_SIPP)(
  "trust boundary: a terminating trunk forwards none of the peer's verification claims (SIPp, one and two next hops)",
  () => {
    beforeAll(makeLab, 30_000);

    afterAll(async () => {
      await element?.stop();
      await x5u?.close();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('sipp to sipp, the callee and this file see every claim of the peer (the checks can fail)', async () => {
      const form = FORMS.find((f) => f.name === 'uri-param')!;
      const line = makeLines(form, 'single').find((l) => l.kind === 'good')!;
      const trace = join(dir, 'direct-callee.msg');
      const callee = await startSippServer({
        scenario: scenarioPath('trust-boundary/uas.xml'),
        transport: 'u1',
        calls: 1,
        timeoutS: 10,
        markers: DIRECT_MARKERS,
        extraArgs: ['-trace_msg', '-message_file', trace],
      });
      await callee.ready;
      const caller = await runSipp({
        scenario: scenarioPath('trust-boundary/uac.xml'),
        remote: `127.0.0.1:${callee.port}`,
        localIp: DIRECT_IP,
        transport: 'u1',
        calls: 1,
        timeoutS: 10,
        markers: DIRECT_MARKERS,
        keys: { from_uri: form.uri },
        extraArgs: ['-inf', await writeInjection('direct.csv', [line])],
      });
      const answered = await callee.result;
      expect([caller.successful, caller.failed], describeRun(caller)).toEqual([1, 0]);
      // uas.xml fails a call that carries the peer's claims (its first failed check ends its checks).
      expect([answered.successful, answered.failed], describeRun(answered)).toEqual([0, 1]);
      expect(answered.errorLog).toMatch(/Regexp matched but should not.*'Forged by the peer'/s);
      const invites = byCase(receivedRequests(await readFile(trace, 'utf8'), 'INVITE'));
      expect(invites.size).toBe(1);
      expect(claimsOf(invites.get(line.id)!)).toEqual({
        fromVerstats: [PEER_VERSTAT, PEER_VERSTAT],
        fromUserVerstat: PEER_VERSTAT,
        paiVerstats: [PEER_VERSTAT],
        attestation: ['A'],
        stirReasons: ['STIR;cause=438;text="Forged by the peer"'],
      });
    }, 30_000);

    for (const form of FORMS) {
      it(`From with ${form.what}: good, bad and no Identity; every callee sees only our verdict`, async () => {
        const placed = await place(form);

        // The element verified each call as intended (so a wrong marking below is the marking's fault).
        const codes = (route: Route) => placed.lines[route].map((l) => `${VERDICT[l.kind].code}/continue`);
        expect(placed.decisions).toEqual({ 'peer-single': codes('single'), 'peer-two': codes('two-hop') });

        // What each callee received: the single-hop callee, and both hops of the two-hop route.
        const seen: Record<string, Claims | 'not received'> = {};
        const want: Record<string, Claims> = {};
        for (const route of ROUTES) {
          for (const line of placed.lines[route]) {
            const hops = route === 'single' ? ['callee'] : ['first hop (503)', 'callee'];
            for (const hop of hops) {
              const invite = (hop === 'callee' ? placed.calleeInvites : placed.firstHopInvites).get(line.id);
              seen[`${line.id} @ ${hop}`] = invite === undefined ? 'not received' : claimsOf(invite);
              want[`${line.id} @ ${hop}`] = expectedClaims(form, line.kind);
            }
          }
        }
        expect(seen).toEqual(want);

        // The second hop sees exactly, header for header, what a single-hop callee sees.
        const headers = (route: Route): Record<string, string[]> =>
          Object.fromEntries(
            placed.lines[route].map((l) => {
              const invite = placed.calleeInvites.get(l.id);
              return [
                l.id.replace(`/${route}/`, '/'),
                invite === undefined ? [] : verificationHeaders(invite),
              ];
            }),
          );
        expect(headers('two-hop')).toEqual(headers('single'));

        // SIPp's own verdicts: every call delivered; the callee's checks (uas.xml) passed.
        for (const route of ROUTES) {
          const r = placed.callers[route];
          expect([r.successful, r.failed], `${route} caller: ${describeRun(r)}`).toEqual([
            KINDS.length * CALLS,
            0,
          ]);
        }
        expect([placed.callee.successful, placed.callee.failed], describeRun(placed.callee)).toEqual([
          2 * KINDS.length * CALLS,
          0,
        ]);
        expect([placed.firstHop.successful, placed.firstHop.failed], describeRun(placed.firstHop)).toEqual([
          KINDS.length * CALLS,
          0,
        ]);
        await expect.poll(() => element.app.stats().calls, { timeout: 3_000 }).toBe(0);
      }, 60_000);
    }
  },
);
