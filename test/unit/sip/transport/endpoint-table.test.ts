import { describe, expect, it } from 'vitest';
import { EndpointTable, UdpFlowTable } from '../../../../src/sip/transport/endpoint-table.js';

describe('EndpointTable', () => {
  it('hands out one endpoint per address and port, and one address string per address', () => {
    const t = new EndpointTable();
    const a = t.endpoint('192.0.2.7', 5060);
    expect(a).toEqual({ address: '192.0.2.7', port: 5060 });
    // A different string with the same text (as a new datagram's rinfo.address is) finds the same object.
    expect(t.endpoint(['192.0.2', '7'].join('.'), 5060)).toBe(a);
    const b = t.endpoint('192.0.2.7', 5062);
    expect(b).not.toBe(a);
    expect(b).toEqual({ address: '192.0.2.7', port: 5062 });
    expect(t.endpoint('198.51.100.1', 5060)).not.toBe(a);
    expect(t.size).toBe(3);
  });

  it('never holds more than its bound; what it handed out before stays valid', () => {
    const t = new EndpointTable(3);
    const first = t.endpoint('192.0.2.1', 1);
    t.endpoint('192.0.2.2', 1);
    t.endpoint('192.0.2.2', 2);
    expect(t.size).toBe(3);
    const fourth = t.endpoint('192.0.2.3', 1); // starts over
    expect(t.size).toBe(1);
    expect(fourth).toEqual({ address: '192.0.2.3', port: 1 });
    expect(first).toEqual({ address: '192.0.2.1', port: 1 });
    const again = t.endpoint('192.0.2.1', 1);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    for (let i = 0; i < 100; i++) t.endpoint(`10.0.0.${i}`, 5060);
    expect(t.size).toBeLessThanOrEqual(3);
  });

  it('a new port of a known address right after the table started over is kept', () => {
    const t = new EndpointTable(2);
    t.endpoint('192.0.2.1', 1);
    t.endpoint('192.0.2.1', 2);
    const e = t.endpoint('192.0.2.1', 3); // full: starts over, then adds
    expect(t.size).toBe(1);
    expect(t.endpoint('192.0.2.1', 3)).toBe(e);
  });
});

describe('UdpFlowTable', () => {
  const local = { address: '127.0.0.1', port: 5060 };

  it('hands out one flow per peer endpoint, from its socket', () => {
    const endpoints = new EndpointTable();
    const flows = new UdpFlowTable(local);
    const f = flows.flow(endpoints.endpoint('192.0.2.7', 5060));
    expect(f).toEqual({ protocol: 'udp', local, remote: { address: '192.0.2.7', port: 5060 } });
    expect(flows.flow(endpoints.endpoint('192.0.2.7', 5060))).toBe(f);
    expect(flows.flow(endpoints.endpoint('192.0.2.7', 5061))).not.toBe(f);
  });

  it('never holds more than its bound', () => {
    const endpoints = new EndpointTable();
    const flows = new UdpFlowTable(local, 2);
    for (let i = 0; i < 50; i++) flows.flow(endpoints.endpoint('192.0.2.7', 1000 + i));
    expect(flows.size).toBeLessThanOrEqual(2);
  });
});
