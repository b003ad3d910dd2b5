import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeForward,
  encodeForward,
  forwardHeader,
  maxForwardable,
} from '../../../src/cluster/forward-codec.js';

const token = randomBytes(8);
const datagram = Buffer.from('BYE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n');

describe('forward envelope', () => {
  it.each([
    ['IPv4', { address: '192.0.2.7', port: 5060 }, { address: '0.0.0.0', port: 5060 }],
    ['IPv6', { address: '2001:db8::1', port: 65535 }, { address: '::', port: 1 }],
  ])('round-trips %s peer and local endpoints and the bytes', (_n, remote, local) => {
    const out = decodeForward(token, encodeForward(token, remote, local, datagram));
    expect(out).toBeDefined();
    expect(out!.remote).toEqual(remote);
    expect(out!.local).toEqual(local);
    expect(out!.datagram.equals(datagram)).toBe(true);
  });

  it('header + datagram sent as two buffers is the same envelope', () => {
    const remote = { address: '192.0.2.7', port: 5060 };
    const local = { address: '0.0.0.0', port: 5060 };
    const two = Buffer.concat([forwardHeader(token, remote, local), datagram]);
    expect(two.equals(encodeForward(token, remote, local, datagram))).toBe(true);
  });

  it('refuses a datagram without the cluster token (another local process cannot inject SIP)', () => {
    const env = encodeForward(
      randomBytes(8),
      { address: '1.2.3.4', port: 1 },
      { address: '0.0.0.0', port: 2 },
      datagram,
    );
    expect(decodeForward(token, env)).toBeUndefined();
  });

  it('refuses plain SIP, short and truncated envelopes', () => {
    expect(decodeForward(token, datagram)).toBeUndefined();
    expect(decodeForward(token, Buffer.alloc(5))).toBeUndefined();
    const env = encodeForward(
      token,
      { address: '192.0.2.7', port: 1 },
      { address: '0.0.0.0', port: 2 },
      Buffer.alloc(0),
    );
    expect(decodeForward(token, env.subarray(0, env.length - 3))).toBeUndefined();
  });

  it('checks the token length', () => {
    expect(() =>
      encodeForward(Buffer.alloc(4), { address: 'a', port: 1 }, { address: 'b', port: 1 }, datagram),
    ).toThrow(RangeError);
  });

  it('knows the largest datagram that still fits one UDP datagram with its envelope', () => {
    const remote = { address: '192.0.2.7', port: 5060 };
    const local = { address: '0.0.0.0', port: 5060 };
    const max = maxForwardable(remote, local);
    expect(encodeForward(token, remote, local, Buffer.alloc(max)).length).toBe(65_507);
  });
});
