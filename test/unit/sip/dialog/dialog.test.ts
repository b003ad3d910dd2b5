import { describe, expect, it } from 'vitest';
import { Dialog, targetFromUriText, uriOnly } from '../../../../src/sip/dialog/dialog.js';
import type { Target } from '../../../../src/sip/transport/types.js';

const FALLBACK: Target = { protocol: 'udp', remote: { address: '127.0.0.9', port: 5999 } };

describe('dialog (RFC 3261 §12)', () => {
  it('in-dialog requests carry the dialog ids, the route set and increasing CSeq; ACK reuses the INVITE number', () => {
    const d = new Dialog({
      callId: 'cid',
      localTag: 'lt',
      remoteTag: 'rt',
      localUri: '<sip:a@x>',
      remoteUri: '<sip:b@y>',
      localSeq: 10,
      remoteSeq: undefined,
      remoteTarget: 'sip:b@127.0.0.5:5070;transport=tcp',
      routeSet: ['<sip:127.0.0.6:5080;lr>'],
      localContact: '<sip:sg@127.0.0.1:5060>',
      fallback: FALLBACK,
    });
    const bye = d.createRequest('BYE');
    expect(bye.uri).toBe('sip:b@127.0.0.5:5070;transport=tcp');
    expect(bye.get('route')).toBe('<sip:127.0.0.6:5080;lr>');
    expect(bye.get('from')).toBe('<sip:a@x>;tag=lt');
    expect(bye.get('to')).toBe('<sip:b@y>;tag=rt');
    expect(bye.cseq).toEqual({ seq: 11, method: 'BYE' });
    expect(d.createRequest('ACK', { cseq: 10 }).cseq).toEqual({ seq: 10, method: 'ACK' });
    expect(d.createRequest('INFO').cseq.seq).toBe(12);
    // Loose routing: the next hop is the first Route, not the target.
    expect(d.nextHop()).toEqual({ protocol: 'udp', remote: { address: '127.0.0.6', port: 5080 } });
  });

  it('resolves IP-literal targets with transport and port; host names fall back to the flow', () => {
    expect(targetFromUriText('sip:b@127.0.0.5:5070;transport=tcp', FALLBACK)).toEqual({
      protocol: 'tcp',
      remote: { address: '127.0.0.5', port: 5070 },
    });
    expect(targetFromUriText('sip:[::1]', FALLBACK)).toEqual({
      protocol: 'udp',
      remote: { address: '::1', port: 5060 },
    });
    expect(targetFromUriText('sip:b@pbx.example.com', FALLBACK)).toBe(FALLBACK);
    const tcpFlow: Target = {
      protocol: 'tcp',
      remote: { address: '127.0.0.5', port: 5070 },
      connectionId: 7,
    };
    expect(targetFromUriText('sip:b@127.0.0.5:5070;transport=tcp', tcpFlow).connectionId).toBe(7);
  });

  it('uriOnly drops header parameters (the tag) but keeps the display name and URI parameters', () => {
    expect(uriOnly('"A" <sip:a@x;user=phone>;tag=1')).toBe('"A" <sip:a@x;user=phone>');
    expect(uriOnly('sip:a@x;tag=1')).toBe('sip:a@x');
  });
});
