import { describe, expect, it } from 'vitest';
import {
  endpointKey,
  familyOf,
  normalizeAddress,
  sameIpAddress,
  stripBrackets,
} from '../../../../src/sip/transport/endpoint.js';

describe('endpoint helpers', () => {
  it('normalises IPv4-mapped IPv6 addresses from dual-stack sockets', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeAddress('::FFFF:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('::1')).toBe('::1');
    expect(normalizeAddress('::ffff:1')).toBe('::ffff:1');
  });

  it('keys endpoints with brackets for IPv6 and without for IPv4', () => {
    expect(endpointKey('127.0.0.1', 5060)).toBe('127.0.0.1:5060');
    expect(endpointKey('[2001:DB8::1]', 5060)).toBe('[2001:db8::1]:5060');
    expect(endpointKey('::ffff:127.0.0.1', 5)).toBe('127.0.0.1:5');
  });

  it('compares IPs, not host names', () => {
    expect(sameIpAddress('[::1]', '::1')).toBe(true);
    expect(sameIpAddress('0:0:0:0:0:0:0:1', '::1')).toBe(true);
    expect(sameIpAddress('localhost', '127.0.0.1')).toBe(false);
    expect(sameIpAddress('127.0.0.1', '127.0.0.2')).toBe(false);
  });

  it('tells families apart', () => {
    expect(familyOf('[::1]')).toBe(6);
    expect(familyOf('10.0.0.1')).toBe(4);
    expect(familyOf('example.com')).toBeUndefined();
    expect(stripBrackets('[')).toBe('[');
  });
});
