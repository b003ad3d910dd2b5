import { BlockList } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSourceMatcher, parseCidr } from '../../../src/config/index.js';

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', 'ipv4', 8],
    ['192.0.2.7', 'ipv4', 32],
    ['0.0.0.0/0', 'ipv4', 0],
    ['2001:db8::/32', 'ipv6', 32],
    ['::1', 'ipv6', 128],
    ['::ffff:192.0.2.0/120', 'ipv6', 120],
    ['fe80::/10', 'ipv6', 10],
  ])('accepts %s', (text, family, prefix) => {
    expect(parseCidr(text)).toEqual({ ok: true, cidr: { family, address: text.split('/')[0], prefix } });
  });

  it.each([
    ['10.0.0.0/33', 'prefix'],
    ['10.0.0.0/', 'prefix'],
    ['10.0.0.0/08', 'prefix'],
    ['10.0.0.0/-1', 'prefix'],
    ['2001:db8::/129', 'prefix'],
    ['10.0.0', 'syntax'],
    ['010.0.0.1', 'syntax'],
    ['256.0.0.0/8', 'syntax'],
    ['fe80::1%eth0', 'syntax'],
    ['example.com/24', 'syntax'],
    ['', 'syntax'],
  ])('refuses %s (%s)', (text, reason) => {
    expect(parseCidr(text)).toMatchObject({ ok: false, reason });
  });

  it.each([
    ['10.0.0.1/8', '10.0.0.0/8'],
    ['192.0.2.130/25', '192.0.2.128/25'],
    ['2001:db8::1/64', '2001:db8:0:0:0:0:0:0/64'],
    ['2001:db8:ffff::/33', '2001:db8:8000:0:0:0:0:0/33'],
    ['::ffff:192.0.2.1/120', '0:0:0:0:0:ffff:c000:200/120'],
  ])('refuses host bits in %s and names the network %s', (text, network) => {
    expect(parseCidr(text)).toEqual({ ok: false, reason: 'host_bits', network });
  });
});

describe('compileSourceMatcher', () => {
  const m = compileSourceMatcher(['192.0.2.0/24', '198.51.100.7', '2001:db8::/32', '10.0.0.0/8']);

  it.each([
    ['192.0.2.1', true],
    ['192.0.2.255', true],
    ['192.0.3.0', false],
    ['198.51.100.7', true],
    ['198.51.100.8', false],
    ['10.255.255.255', true],
    ['11.0.0.0', false],
    ['::ffff:192.0.2.9', true], // IPv4-mapped, from a dual-stack socket
    ['::FFFF:10.1.2.3', true],
    ['::ffff:203.0.113.1', false],
    ['2001:db8::5', true],
    ['2001:db9::5', false],
    ['not-an-ip', false],
    ['', false],
    ['192.0.2.1.5', false],
  ])('%s -> %s', (ip, expected) => {
    expect(m(ip)).toBe(expected);
  });

  it('no sources match nothing; 0.0.0.0/0 matches every IPv4', () => {
    expect(compileSourceMatcher([])('127.0.0.1')).toBe(false);
    const any = compileSourceMatcher(['0.0.0.0/0']);
    expect(any('255.255.255.255')).toBe(true);
    expect(any('::1')).toBe(false);
  });

  it('throws on an invalid source', () => {
    expect(() => compileSourceMatcher(['10.0.0.0/33'])).toThrow(TypeError);
  });

  it('agrees with net.BlockList on random IPv6 blocks and addresses', () => {
    const groups = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 });
    const text = (g: readonly number[]): string => g.map((x) => x.toString(16)).join(':');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(groups, fc.integer({ min: 0, max: 128 })), { minLength: 1, maxLength: 4 }),
        fc.array(groups, { maxLength: 20 }),
        (blocks, ips) => {
          const list = new BlockList();
          const sources: string[] = [];
          const near: string[] = [];
          for (const [g, prefix] of blocks) {
            const net = g.map((x, i) => {
              const bits = Math.min(16, Math.max(0, prefix - i * 16));
              return bits === 0 ? 0 : x & ((0xffff << (16 - bits)) & 0xffff);
            });
            sources.push(`${text(net)}/${prefix}`);
            list.addSubnet(text(net), prefix, 'ipv6');
            near.push(text(net), text(g));
          }
          const match = compileSourceMatcher(sources);
          for (const ip of [...ips.map(text), ...near]) {
            expect(match(ip)).toBe(list.check(ip, 'ipv6'));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('compressed IPv6 forms and zone ids', () => {
    const m6 = compileSourceMatcher(['fe80::/10', '2001:db8:0:0:1::/80']);
    expect(m6('fe80::1%eth0')).toBe(true);
    expect(m6('2001:db8::1:0:0:5')).toBe(true);
    expect(m6('2001:db8::2:0:0:5')).toBe(false);
    expect(m6('::')).toBe(false);
  });

  it('agrees with net.BlockList on random IPv4 blocks and addresses', () => {
    const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(octets, fc.integer({ min: 0, max: 32 })), { minLength: 1, maxLength: 5 }),
        fc.array(octets, { maxLength: 20 }),
        (blocks, ips) => {
          const list = new BlockList();
          const sources: string[] = [];
          for (const [addr, prefix] of blocks) {
            const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
            const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
            const net = (n & mask) >>> 0;
            const text = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}`;
            sources.push(`${text}/${prefix}`);
            list.addSubnet(text, prefix, 'ipv4');
          }
          const match = compileSourceMatcher(sources);
          for (const ip of [...ips, ...sources.map((s) => s.split('/')[0]!)]) {
            expect(match(ip)).toBe(list.check(ip, 'ipv4'));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
