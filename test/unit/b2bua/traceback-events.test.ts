/**
 * The call's traceback record on `stirgate:traceback`: one event when its identity handling is decided and one
 * when it ends, with what the traceback issue's record needs (who sent it, from where, what we verified).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { passportDigest, RecordKeys } from '../../../src/b2bua/traceback-events.js';
import type { TracebackEvent } from '../../../src/events.js';
import { type B2buaHarness, createB2buaHarness, T1 } from '../../support/b2bua-harness.js';
import { callerInvite, responseTo } from '../../support/peer-messages.js';
import { createFixture, DEST, type Fixture, ORIG, ORIGID } from '../stir/verify-fixtures.js';
import {
  ATTESTATION_HEADER,
  badSignatureIdentity,
  CALLING,
  goodIdentity,
  placeCall,
  verifyingHarness,
} from './verified-call.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(async () => {
  await fx.close();
});

const events: TracebackEvent[] = [];
const onEvent = (m: unknown) => events.push(m as TracebackEvent);
const open: B2buaHarness[] = [];
afterEach(() => {
  for (const h of open.splice(0)) h.close();
  unsubscribe('stirgate:traceback', onEvent);
  events.length = 0;
});

const FROM = `<sip:${CALLING}@caller.example;user=phone>`;

describe('traceback events', () => {
  it('a verified call: its record names the source, both Call-IDs, the hop and the signer; its end the answer', async () => {
    subscribe('stirgate:traceback', onEvent);
    const h = verifyingHarness(fx, 1);
    open.push(h);
    const bInvite = await placeCall(h, FROM, [`Identity: ${goodIdentity(fx)}`]);
    const hop = h.hops[0]!;
    hop.send(responseTo(bInvite, 200, { toTag: 'callee', contact: hop.endpoint }));
    await h.advance(0);
    // The caller never ACKs: at 64*T1 both legs get a BYE (RFC 3261 §13.3.1.4), and the call ends.
    await h.advance(64 * T1);
    h.caller.send(responseTo(h.caller.request('BYE'), 200));
    hop.send(responseTo(hop.request('BYE'), 200));
    await h.advance(0);

    const [record, end] = events;
    expect(events).toHaveLength(2);
    expect(record).toMatchObject({
      kind: 'call',
      role: 'verified',
      trunk: 'peer',
      trunkRole: 'terminating',
      source: { address: h.caller.endpoint.address, port: h.caller.endpoint.port, transport: 'udp' },
      bCallId: bInvite.callId,
      nextHop: `udp:${hop.endpoint.address}:${hop.endpoint.port}`,
      calling: { received: CALLING, canonical: ORIG },
      called: { canonical: DEST },
      verified: { code: 'passed', verstat: 'TN-Validation-Passed', attest: 'A', origid: ORIGID },
    });
    expect(record?.kind === 'call' && record.verified?.spc).toBe(fx.pki.spc);
    expect(record?.kind === 'call' && record.verified?.subject).toMatch(/CN=/);
    expect(end).toMatchObject({
      kind: 'end',
      key: record!.key,
      answered: true,
      status: 200,
      cause: 'ack_timeout',
    });
    expect(end?.kind === 'end' && end.bCallId).toBeUndefined();
  });

  it('a refused call (on_failure: reject) is a refused record naming the hook, then its end', async () => {
    subscribe('stirgate:traceback', onEvent);
    const h = createB2buaHarness({
      role: 'terminating',
      verification: { onFailure: 'reject', requireIdentity: false, attestationHeader: ATTESTATION_HEADER },
      verifier: fx.verifier(),
    });
    open.push(h);
    h.caller.send(
      callerInvite({
        caller: h.caller.endpoint,
        to: h.hops[0]!.endpoint,
        from: FROM,
        called: `+${DEST}`,
        headers: [`Identity: ${badSignatureIdentity(fx)}`],
      }),
    );
    await h.until(() => events.length === 2, 'the refusal');
    expect(events[0]).toMatchObject({
      kind: 'call',
      role: 'refused',
      refused: { status: 438, cause: 'verification', detail: 'verify' },
      verified: { code: 'bad_signature', verstat: 'TN-Validation-Failed' },
    });
    const refused = events[0];
    expect(refused?.kind === 'call' && refused.bCallId).toBeUndefined();
    expect(events[1]).toMatchObject({ kind: 'end', answered: false, status: 438, cause: 'rejected' });
  });

  it('after a failover the end names the hop the call ended on', async () => {
    subscribe('stirgate:traceback', onEvent);
    const h = verifyingHarness(fx, 2, [503]);
    open.push(h);
    const first = await placeCall(h, FROM, [`Identity: ${goodIdentity(fx)}`]);
    const [p1, p2] = h.hops as [(typeof h.hops)[0], (typeof h.hops)[0]];
    p1.send(responseTo(first, 503, { toTag: 'hop1' }));
    await h.until(() => p2.requests('INVITE').length > 0, 'the INVITE at hop 2');
    const second = p2.request('INVITE');
    p2.send(responseTo(second, 486, { toTag: 'hop2' }));
    await h.advance(0);
    expect(events.map((e) => e.kind)).toEqual(['call', 'end']);
    expect(events[0]).toMatchObject({
      bCallId: first.callId,
      nextHop: `udp:${p1.endpoint.address}:${p1.endpoint.port}`,
    });
    expect(events[1]).toMatchObject({
      bCallId: second.callId,
      nextHop: `udp:${p2.endpoint.address}:${p2.endpoint.port}`,
      answered: false,
      status: 486,
      cause: 'failed',
    });
  });

  it('digests a PASSporT as base64url SHA-256 of its compact form', () => {
    // Expected value from `printf 'a.b.c' | openssl dgst -sha256 -binary | base64` (base64url, no padding).
    expect(passportDigest('a.b.c')).toBe('hF4wRIgJ4ryJWOsCW_x5UjXROwd6U9DDq70jhRcNybg');
  });
});

describe('RecordKeys', () => {
  it('numbers one element and recognises only its own keys', () => {
    const a = new RecordKeys();
    const b = new RecordKeys();
    const ka = a.next();
    expect(a.next()).not.toBe(ka);
    expect(a.owns(ka)).toBe(true);
    expect(b.owns(ka)).toBe(false);
    expect(a.owns(a.element)).toBe(false);
    expect(a.owns(`${a.element}x-1`)).toBe(false);
  });
});
