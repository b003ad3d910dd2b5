import { describe, expect, it } from 'vitest';
import { SipResponse } from '../../../../src/sip/message/message.js';
import { parseVia } from '../../../../src/sip/message/via.js';
import { responseTarget } from '../../../../src/sip/transport/response-target.js';
import type { Flow } from '../../../../src/sip/transport/types.js';

const udpFlow: Flow = {
  protocol: 'udp',
  local: { address: '192.0.2.1', port: 5060 },
  remote: { address: '198.51.100.9', port: 33333 },
};
const tcpFlow: Flow = { ...udpFlow, protocol: 'tcp', connectionId: 7 };

describe('responseTarget (RFC 3261 §18.2.2, RFC 3581 §4)', () => {
  it('UDP: received and rport when present, from the socket the request came in on', () => {
    const t = responseTarget(
      parseVia('SIP/2.0/UDP 10.0.0.1:5070;received=198.51.100.9;rport=33333'),
      udpFlow,
    );
    expect(t).toEqual({
      protocol: 'udp',
      remote: { address: '198.51.100.9', port: 33333 },
      local: udpFlow.local,
    });
  });

  it('UDP: the request flow itself when received and rport name the peer it came from (nothing built per response)', () => {
    const t = responseTarget(
      parseVia('SIP/2.0/UDP 10.0.0.1:5070;received=198.51.100.9;rport=33333'),
      udpFlow,
    );
    expect(t).toBe(udpFlow);
    const other = responseTarget(parseVia('SIP/2.0/UDP 198.51.100.9:5070;rport=5070'), udpFlow);
    expect(other).not.toBe(udpFlow);
    expect(other).toEqual({
      protocol: 'udp',
      remote: { address: '198.51.100.9', port: 5070 },
      local: udpFlow.local,
    });
  });

  it('UDP: received with the sent-by port when there is no rport', () => {
    const t = responseTarget(parseVia('SIP/2.0/UDP 10.0.0.1:5070;received=198.51.100.9'), udpFlow);
    expect(t.remote).toEqual({ address: '198.51.100.9', port: 5070 });
  });

  it('UDP: sent-by host and default port 5060', () => {
    expect(responseTarget(parseVia('SIP/2.0/UDP 198.51.100.9'), udpFlow).remote).toEqual({
      address: '198.51.100.9',
      port: 5060,
    });
  });

  it('UDP: an rport never filled in falls back to the sent-by port', () => {
    expect(responseTarget(parseVia('SIP/2.0/UDP 198.51.100.9:5999;rport'), udpFlow).remote.port).toBe(5999);
  });

  it('UDP: IPv6 hosts lose their brackets', () => {
    expect(responseTarget(parseVia('SIP/2.0/UDP [2001:db8::5]:5062'), udpFlow).remote).toEqual({
      address: '2001:db8::5',
      port: 5062,
    });
  });

  it('TCP: the request connection, with received/sent-by port as the fallback for a closed connection', () => {
    const t = responseTarget(
      parseVia('SIP/2.0/TCP client.example.com:5080;received=198.51.100.9;rport=33333'),
      tcpFlow,
    );
    expect(t).toEqual({ protocol: 'tcp', connectionId: 7, remote: { address: '198.51.100.9', port: 5080 } });
  });

  it('takes the top Via of a response', () => {
    const res = new SipResponse(200, 'OK', [
      {
        name: 'via',
        rawName: 'Via',
        value: 'SIP/2.0/UDP 10.0.0.1;received=203.0.113.4;rport=4000, SIP/2.0/UDP x',
      },
    ]);
    expect(responseTarget(res, udpFlow).remote).toEqual({ address: '203.0.113.4', port: 4000 });
  });

  it('without a Via answers the peer of the flow', () => {
    expect(responseTarget(new SipResponse(200, 'OK'), tcpFlow)).toEqual({
      protocol: 'tcp',
      remote: tcpFlow.remote,
      connectionId: 7,
    });
  });
});
