import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import type { SendFailureEvent } from '../../../src/events.js';
import { type SipRequest, SipResponse } from '../../../src/sip/message/message.js';
import { parseMessage } from '../../../src/sip/message/parse.js';
import { TransportError } from '../../../src/sip/transport/types.js';
import { type B2buaHarness, createB2buaHarness, LOCAL } from '../../support/b2bua-harness.js';
import { ackOf, callerInvite, responseTo } from '../../support/peer-messages.js';

let h: B2buaHarness | undefined;
const seen: SendFailureEvent[] = [];
const onFailure = (m: unknown) => seen.push(m as SendFailureEvent);
afterEach(() => {
  h?.close();
  unsubscribe('stirgate:sip:send_failure', onFailure);
  seen.length = 0;
});

describe('an ACK that cannot be sent (RFC 3261 §17.1.1.3: no transaction reports it)', () => {
  it('is published on stirgate:sip:send_failure with the transport code, not swallowed', async () => {
    subscribe('stirgate:sip:send_failure', onFailure);
    h = createB2buaHarness();
    const { caller } = h;
    const hop = h.hops[0]!;
    const inviteText = callerInvite({ caller: caller.endpoint, to: LOCAL });
    const invite = parseMessage(Buffer.from(inviteText, 'latin1')) as SipRequest;
    caller.send(inviteText);
    await h.advance(0);
    hop.send(responseTo(hop.request('INVITE'), 200, { toTag: 'callee', contact: hop.endpoint }));
    await h.advance(0);
    const ok = caller.sent().find((s) => s.message instanceof SipResponse && s.message.status === 200)!;

    h.transport.failWith = new TransportError('send_failed', 'socket gone');
    caller.send(ackOf(invite, ok.message as SipResponse));
    await h.advance(0);

    expect(hop.trace()).toEqual(['INVITE', 'ACK']); // it was tried
    expect(seen).toEqual([{ what: 'ack', code: 'send_failed' }]);
  });
});
