// Every call ends, through a running Stirgate with real sockets and SIPp (docs/operations.md, "What it
// survives", "Calls that lose an end"): callers whose TCP connections close right after the INVITE, a callee
// that rings and then says nothing (Timer C), and a session that is never refreshed (RFC 4028). Each test
// ends with no call left in the element, and is bounded (< 20 s).
import diagnostics_channel from 'node:diagnostics_channel';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type CallEndedEvent, callChannels } from '../../src/events.js';
import { type Element, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import { runSipp, type SippResult, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP) console.warn('\n!!! SKIPPING call-leaks: no sipp binary (apt-get install sip-tester)\n');

const CALLER_IP = '127.0.0.2';

/** `sip` adds keys under `sip:`; `timerC` sets `sip.timers.timer_c_s`. */
function config(sipPort: number, hopPort: number, sip: string, timerC?: number): string {
  return `
listen:
  - { transport: udp, address: 127.0.0.1, port: ${sipPort} }
  - { transport: tcp, address: 127.0.0.1, port: ${sipPort} }
sip:
  timers: { t1_ms: 100, t2_ms: 400, t4_ms: 500${timerC === undefined ? '' : `, timer_c_s: ${timerC}`} }
${sip}
trunks:
  - name: uac
    match: { sources: [${CALLER_IP}/32] }
    role: passthrough
    route: next
routes:
  - name: next
    next_hops: [{ address: 127.0.0.1, port: ${hopPort}, transport: udp }]
data_dir: {data_dir}
`;
}

function explain(r: SippResult): string {
  return `exit ${r.exitCode} ok ${r.successful} failed ${r.failed}\nargs: ${r.args.join(' ')}\n${r.errorLog ?? ''}\n${r.stderr.slice(-2000)}`;
}

/** Poll until the element holds no call (bounded); returns how long it took. */
async function callsReachZero(el: Element, ms: number): Promise<number> {
  const start = Date.now();
  while (el.app.stats().calls > 0) {
    if (Date.now() - start > ms) throw new Error(`${el.app.stats().calls} calls still active after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

/** An INVITE over TCP from CALLER_IP whose connection closes as soon as it is written. */
function inviteAndHangUp(sipPort: number, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: sipPort, localAddress: CALLER_IP }, () => {
      // Via names port 9 (discard): nothing listens there, so answers after the close fail at once.
      const sdp =
        'v=0\r\no=leak 1 1 IN IP4 127.0.0.10\r\ns=-\r\nc=IN IP4 127.0.0.10\r\nt=0 0\r\nm=audio 16000 RTP/AVP 0\r\n';
      const msg = [
        `INVITE sip:+12025550199@127.0.0.1:${sipPort} SIP/2.0`,
        `Via: SIP/2.0/TCP ${CALLER_IP}:9;branch=z9hG4bKleak${n}`,
        'Max-Forwards: 70',
        `From: <sip:+12025550100@example.com;user=phone>;tag=leak${n}`,
        'To: <sip:+12025550199@example.net;user=phone>',
        `Call-ID: leak-${n}-${process.pid}@${CALLER_IP}`,
        'CSeq: 1 INVITE',
        `Contact: <sip:leak@${CALLER_IP}:9;transport=tcp>`,
        'Content-Type: application/sdp',
        `Content-Length: ${sdp.length}`,
        '',
        sdp,
      ].join('\r\n');
      s.end(msg, () => resolve());
    });
    s.on('error', reject);
  });
}

let el: Element | undefined;
afterEach(async () => {
  await el?.stop();
  el = undefined;
});

describe.skipIf(!HAVE_SIPP)('calls that lose an end', () => {
  it('250 TCP callers that close after the INVITE (max_calls 200): calls return to 0, then a call gets through', async () => {
    const sipPort = await freePort('both');
    const hopPort = await freePort('udp');
    const ringing = await startSippServer({
      scenario: scenarioPath('ring-no-answer/uas.xml'),
      transport: 'u1',
      localPort: hopPort,
      calls: 250,
      timeoutS: 15,
    });
    el = await startElement(config(sipPort, hopPort, '  call_limits: { max_calls: 200 }'), {
      port: sipPort,
    });
    await ringing.ready;
    // What the element did, seen in process: connections it saw close, calls it started and ended.
    let closes = 0;
    const onClose = () => closes++;
    diagnostics_channel.subscribe('stirgate:transport:connection_close', onClose);
    let started = 0;
    const onStarted = () => started++;
    callChannels.started.subscribe(onStarted);
    const ends: string[] = [];
    const onEnded = (e: CallEndedEvent) => ends.push(e.cause);
    callChannels.ended.subscribe(onEnded);
    let reapMs: number;
    try {
      await Promise.all(Array.from({ length: 250 }, (_, i) => inviteAndHangUp(sipPort, i)));
      const sent = Date.now();
      while (closes < 250) {
        if (Date.now() - sent > 5000) throw new Error(`only ${closes} of 250 connections seen closing`);
        await new Promise((r) => setTimeout(r, 10));
      }
      reapMs = Date.now() - sent + (await callsReachZero(el, 8000));
    } finally {
      diagnostics_channel.unsubscribe('stirgate:transport:connection_close', onClose);
      callChannels.started.unsubscribe(onStarted);
      callChannels.ended.unsubscribe(onEnded);
    }
    // max_calls held some back with 503 while the first were still up; every admitted call ended as lost.
    expect(started).toBeGreaterThanOrEqual(200);
    expect(ends).toEqual(Array(started).fill('connection_lost'));
    const uas = await ringing.stop();
    // Each call that reached the callee was CANCELled (ring-no-answer/uas.xml checks the CANCEL and ACKs the 487).
    expect(uas.failed, explain(uas)).toBe(0);
    console.log(
      `call-leaks: 250 TCP callers gone after the INVITE: ${started} admitted, ${250 - started} refused 503, ` +
        `${uas.successful} CANCELled at the callee, active calls 0 ${reapMs} ms after the last INVITE`,
    );

    // The element is not exhausted: an ordinary call completes.
    const answering = await startSippServer({
      scenario: scenarioPath('basic/uas.xml'),
      transport: 'u1',
      localPort: hopPort,
      calls: 1,
      timeoutS: 10,
    });
    await answering.ready;
    const uac = await runSipp({
      scenario: scenarioPath('basic/uac.xml'),
      remote: `127.0.0.1:${sipPort}`,
      transport: 't1',
      calls: 1,
      timeoutS: 10,
    });
    expect(uac.successful, explain(uac)).toBe(1);
    await answering.stop();
    expect(await el.drained(5000)).toMatchObject({ calls: 0, dialogs: 0 });
  }, 30_000);

  it('a callee that rings and goes silent: CANCEL at Timer C (timer_c_s: 1), the caller gets 408', async () => {
    const sipPort = await freePort('both');
    const uas = await startSippServer({
      scenario: scenarioPath('ring-no-answer/uas.xml'),
      transport: 'u1',
      calls: 5,
      timeoutS: 15,
    });
    el = await startElement(config(sipPort, uas.port, '', 1), { port: sipPort });
    await uas.ready;
    const started = Date.now();
    const uac = await runSipp({
      scenario: scenarioPath('reject/uac.xml'),
      remote: `127.0.0.1:${sipPort}`,
      transport: 'u1',
      calls: 5,
      rate: 10,
      timeoutS: 15,
      keys: { status: '408' },
    });
    const elapsed = Date.now() - started;
    expect(uac.failed, explain(uac)).toBe(0);
    expect(uac.successful, explain(uac)).toBe(5);
    const callee = await uas.result;
    expect(callee.successful, explain(callee)).toBe(5);
    console.log(`call-leaks: 5 calls ringing forever ended by Timer C (1 s) with 408 in ${elapsed} ms`);
    expect(await el.drained(5000)).toMatchObject({ calls: 0, dialogs: 0 });
  }, 30_000);

  it('a session never refreshed (RFC 4028, 2 s interval): BYE on both legs at its expiry', async () => {
    const sipPort = await freePort('both');
    const uas = await startSippServer({
      scenario: scenarioPath('session-timer/uas.xml'),
      transport: 'u1',
      calls: 5,
      timeoutS: 15,
    });
    el = await startElement(
      config(sipPort, uas.port, '  session_timers: { enabled: true, session_expires_s: 2, min_se_s: 2 }'),
      { port: sipPort },
    );
    await uas.ready;
    const started = Date.now();
    const uac = await runSipp({
      scenario: scenarioPath('session-timer/uac.xml'),
      remote: `127.0.0.1:${sipPort}`,
      transport: 'u1',
      calls: 5,
      rate: 10,
      timeoutS: 15,
      keys: { session_expires: '2' },
    });
    const elapsed = Date.now() - started;
    expect(uac.failed, explain(uac)).toBe(0);
    expect(uac.successful, explain(uac)).toBe(5);
    const callee = await uas.result;
    expect(callee.failed, explain(callee)).toBe(0);
    expect(callee.successful, explain(callee)).toBe(5);
    console.log(`call-leaks: 5 unrefreshed sessions (2 s) ended by BYE on both legs in ${elapsed} ms`);
    expect(await el.drained(5000)).toMatchObject({ calls: 0, dialogs: 0 });
  }, 30_000);
});
