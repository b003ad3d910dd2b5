/**
 * An independent SIP implementation through Stirgate (issue 3): the SIP.js user agent core, over TCP, calls a
 * SIPp UAS (sip-scenarios/basic/uas.xml) through the B2BUA, gets 180 and 200, ACKs and hangs up with BYE.
 *
 * SIP.js sits on 127.0.0.2 with "ALEG-" in its Call-ID, From tag and Contact user, so the UAS scenario's leak
 * checks fail the call if any of it reaches the B-leg; SIP.js in turn must never see the B-leg ("BLEG-", the
 * UAS port) and, like SIP.js's own UserAgent, drops a response with more than one Via.
 */

import {
  type AckableIncomingResponseWithSession,
  type Contact,
  Grammar,
  type IncomingResponse,
  LoggerFactory,
  type PrackableIncomingResponseWithSession,
  type Session,
  SessionState,
  SignalingState,
  URI,
  UserAgentCore,
} from 'sip.js/lib/core/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type Element, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import { type DeliveryDrop, deliverToCore, SipJsTcpTransport } from '../support/sipjs-tcp-transport.js';
import { type SippServer, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';

/** The UAS scenario treats this address as the A-leg's: it must never appear on the B-leg. */
const CALLER_IP = '127.0.0.2';
const CALLER = 'sip:+12025550100@example.com;user=phone';
const CALLEE_USER = '+12025550199';
/** The offer basic/uas.xml checks for (c= and m= port), and the answer it sends. */
const OFFER = [
  'v=0',
  'o=alice 1000 1000 IN IP4 127.0.0.10',
  's=-',
  'c=IN IP4 127.0.0.10',
  't=0 0',
  'm=audio 16000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\r\n');

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function uri(text: string): URI {
  const u = Grammar.URIParse(text);
  if (u === undefined) throw new Error(`SIP.js cannot parse ${text}`);
  return u;
}

/** A SIP.js UserAgentCore whose transport is a TCP connection to Stirgate. */
async function sipJsCaller(stirgatePort: number) {
  const transport = new SipJsTcpTransport({ host: '127.0.0.1', port: stirgatePort, localAddress: CALLER_IP });
  const localPort = await transport.connect();
  cleanup.push(() => transport.close());

  const loggerFactory = new LoggerFactory();
  loggerFactory.builtinEnabled = false;
  const errors: string[] = [];
  loggerFactory.connector = (level, category, _label, content) => {
    if (level === 'error') errors.push(`${category}: ${String(content)}`);
  };
  const contactUri = new URI('sip', 'ALEG-alice', CALLER_IP, localPort, { transport: 'tcp' });
  const contact: Contact = {
    pubGruu: undefined,
    tempGruu: undefined,
    uri: contactUri,
    toString: () => `<${contactUri.toString()}>`,
  };
  const core = new UserAgentCore({
    aor: uri(CALLER),
    contact,
    displayName: 'Alice',
    loggerFactory,
    hackViaTcp: false,
    routeSet: [],
    sipjsId: 'ALEG-',
    supportedOptionTags: [],
    supportedOptionTagsResponse: [],
    userAgentHeaderFieldValue: 'SIP.js core test',
    viaForceRport: false,
    viaHost: CALLER_IP,
    authenticationFactory: () => undefined,
    transportAccessor: () => transport,
  });
  cleanup.push(() => core.dispose());

  const drops: DeliveryDrop[] = [];
  const logger = loggerFactory.getLogger('sip.test.transport');
  transport.onMessage = (text) => {
    const drop = deliverToCore(core, text, CALLER_IP, logger);
    if (drop !== undefined) drops.push(drop);
  };
  return { core, transport, drops, errors };
}

async function startUas(transport: 'u1' | 't1'): Promise<SippServer> {
  const uas = await startSippServer({
    scenario: scenarioPath('basic/uas.xml'),
    transport,
    calls: 1,
    timeoutS: 20,
  });
  cleanup.push(() => uas.stop());
  await uas.ready;
  return uas;
}

/**
 * TCP out: a short T1, so the accepted INVITE transactions (RFC 6026 Timers L and M, 64*T1) end within the
 * test and the tables can be checked empty. UDP out keeps the default T1 (500 ms): with a short one, Timer A
 * retransmits the B-leg INVITE before SIPp's 100 arrives under load, and SIPp 3.6 running basic/uas.xml
 * aborts the call on an INVITE retransmission that reaches it after its 200 (reproduced outside Stirgate).
 */
async function startStirgate(uasPort: number, out: 'udp' | 'tcp'): Promise<Element> {
  const port = await freePort('both');
  const el = await startElement(
    `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
  - { transport: tcp, address: 127.0.0.1, port: {port} }
sip:
  timers: { t1_ms: ${out === 'tcp' ? 25 : 500}, t4_ms: 100 }
trunks:
  - { name: sipjs, role: passthrough, match: { sources: [${CALLER_IP}], transport: tcp }, route: uas }
routes:
  - name: uas
    next_hops: [{ address: 127.0.0.1, port: ${uasPort}, transport: ${out} }]
data_dir: '{data_dir}'
metrics: { listen: '' }
`,
    { port },
  );
  cleanup.push(() => el.stop());
  return el;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)),
  ]);
}

describe.skipIf(!sippAvailable())('SIP.js (TCP) calls a SIPp UAS through Stirgate', () => {
  for (const out of ['udp', 'tcp'] as const) {
    it(`TCP in, ${out.toUpperCase()} out: 180, 200, ACK, BYE; both sides see one clean dialog`, async () => {
      const uas = await startUas(out === 'udp' ? 'u1' : 't1');
      const el = await startStirgate(uas.port, out);
      const { core, transport, drops, errors } = await sipJsCaller(el.port);

      const statuses: number[] = [];
      let early: Session | undefined;
      let earlyState: SessionState | undefined;
      let accepted!: (r: AckableIncomingResponseWithSession) => void;
      let failed!: (e: Error) => void;
      const answered = new Promise<AckableIncomingResponseWithSession>((resolve, reject) => {
        accepted = resolve;
        failed = reject;
      });
      const ruri = uri(`sip:${CALLEE_USER}@127.0.0.1:${el.port};transport=tcp`);
      const invite = core.makeOutgoingRequestMessage(
        'INVITE',
        ruri,
        uri(CALLER),
        uri(`sip:${CALLEE_USER}@example.com;user=phone`),
        { callIdPrefix: 'ALEG-', fromTag: `ALEG-${process.pid}` },
        [`Contact: ${core.configuration.contact.toString()}`],
        { contentDisposition: 'session', contentType: 'application/sdp', content: OFFER },
      );
      core.invite(invite, {
        onTrying: () => statuses.push(100),
        onProgress: (r: PrackableIncomingResponseWithSession) => {
          statuses.push(r.message.statusCode ?? 0);
          early = r.session;
          earlyState = r.session.sessionState;
        },
        onAccept: (r) => {
          statuses.push(r.message.statusCode ?? 0);
          accepted(r);
        },
        onReject: (r: IncomingResponse) => failed(new Error(`INVITE rejected: ${r.message.statusCode}`)),
      });

      const ok = await within(answered, 10_000, 'the 200 to the INVITE');
      expect(statuses).toEqual([100, 180, 200]);
      // RFC 3261 §12.1.2: the 180 with a To tag made an early dialog; the 200 (same A-leg To tag, however
      // the B-leg went) confirms that same dialog.
      expect(earlyState).toBe(SessionState.Early);
      const session = ok.session;
      expect(session.id).toBe(early?.id);
      // RFC 3261 §13.2.2.4: for the UAC the 2xx confirms the dialog (AckWait is the UAS's state).
      expect(session.sessionState).toBe(SessionState.Confirmed);
      expect(session.signalingState).toBe(SignalingState.Stable);
      // The answer the callee sent, untouched by the B2BUA.
      expect(session.answer?.content).toMatch(/c=IN IP4 127\.0\.0\.11\r\n/);
      expect(session.answer?.content).toMatch(/m=audio 17000 /);
      // Topology hiding, seen from the A-leg: our Call-ID and tag, Stirgate's Contact, no B-leg trace.
      expect(session.callId).toBe(invite.callId);
      expect(session.remoteTarget.host).toBe('127.0.0.1');
      expect(session.remoteTarget.port).toBe(el.port);
      expect(session.remoteTag).not.toMatch(/BLEG/);

      ok.ack();
      expect(session.sessionState).toBe(SessionState.Confirmed);

      const byeAnswered = new Promise<number>((resolve, reject) => {
        session.bye({
          onAccept: (r) => resolve(r.message.statusCode ?? 0),
          onReject: (r) => reject(new Error(`BYE rejected: ${r.message.statusCode}`)),
        });
      });
      expect(session.sessionState).toBe(SessionState.Terminated);
      expect(await within(byeAnswered, 10_000, 'the 200 to the BYE')).toBe(200);

      const r = await within(uas.result, 15_000, 'the SIPp UAS to finish its call');
      const why = `sipp ${r.args.join(' ')}\n${r.errorLog ?? ''}\n${r.stderr.slice(-1500)}`;
      expect(r.failed, why).toBe(0);
      expect(r.successful, why).toBe(1);
      expect(r.exitCode, why).toBe(0);

      const received = transport.log.filter((m) => m.dir === 'in').map((m) => m.text);
      expect(received.join('\n')).not.toMatch(/BLEG-/);
      expect(received.join('\n')).not.toContain(`:${uas.port}`);
      expect(drops).toEqual([]);
      expect(errors).toEqual([]);
      expect(transport.error).toBeUndefined();
      // Every call, dialog and transaction entry is freed once the timers have run (issue 3). With the
      // default T1 (UDP out) the accepted INVITE transactions live 32 s (RFC 6026): check calls and dialogs.
      if (out === 'tcp') {
        expect(await el.drained(5000)).toMatchObject({
          calls: 0,
          dialogs: 0,
          clientTransactions: 0,
          serverTransactions: 0,
        });
      } else {
        const deadline = Date.now() + 2000;
        while (el.app.stats().dialogs > 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        expect(el.app.stats()).toMatchObject({ calls: 0, dialogs: 0 });
      }
    }, 40_000);
  }
});
