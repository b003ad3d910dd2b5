import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchX5u, type ResolveAll } from '../../../../src/stir/certs/fetch.js';
import { checkAddress, checkX5uUrl, createX5uPolicy } from '../../../../src/stir/certs/x5u-policy.js';
import { createDevPki, issueCertificate } from '../../../../src/stir/pki/dev-pki.js';
import { startX5uServer } from '../../../../src/stir/pki/x5u-server.js';

const strict = createX5uPolicy();

describe('checkAddress (IANA special-purpose registries)', () => {
  const refused = [
    '0.0.0.0',
    '0.1.2.3',
    '10.1.2.3',
    '100.64.0.1',
    '100.127.255.254',
    '127.0.0.1',
    '127.255.255.255',
    '169.254.169.254', // cloud metadata
    '172.16.0.1',
    '172.31.255.255',
    '192.0.0.8',
    '192.0.2.1',
    '192.88.99.1',
    '192.168.1.1',
    '198.18.0.1',
    '198.19.255.255',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::127.0.0.1',
    '64:ff9b::a00:1',
    '64:ff9b:1::1',
    '100::1',
    '2001::1',
    '2001:db8::1',
    '2002:a00:1::1',
    '3fff::1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fe80::1%eth0',
    'fec0::1',
    'ff02::1',
    '[::1]',
    'not-an-ip',
    '',
  ];
  it.each(refused)('refuses %s', (ip) => {
    expect(checkAddress(ip, strict)).toBe(false);
  });

  const allowed = [
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.0',
    '172.32.0.1',
    '192.0.3.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
  ];
  it.each(allowed)('allows %s', (ip) => {
    expect(checkAddress(ip, strict)).toBe(true);
  });

  it('allowCidrs opens a special range; denyCidrs wins over allow and over the default', () => {
    const p = createX5uPolicy({
      allowCidrs: ['127.0.0.0/8', 'fd00::/8'],
      denyCidrs: ['127.0.0.2/32', '8.8.8.0/24'],
    });
    expect(checkAddress('127.0.0.1', p)).toBe(true);
    expect(checkAddress('::ffff:127.0.0.1', p)).toBe(true);
    expect(checkAddress('127.0.0.2', p)).toBe(false);
    expect(checkAddress('::ffff:127.0.0.2', p)).toBe(false);
    expect(checkAddress('fd00::5', p)).toBe(true);
    expect(checkAddress('8.8.8.8', p)).toBe(false);
    expect(checkAddress('10.0.0.1', p)).toBe(false);
  });

  it('an IPv6 allow of ::/0 does not open IPv4 ranges (per-family lists)', () => {
    const p = createX5uPolicy({ allowCidrs: ['::/0'] });
    expect(checkAddress('127.0.0.1', p)).toBe(false);
    expect(checkAddress('::1', p)).toBe(true);
  });

  it('rejects bad CIDRs at compile time with the value', () => {
    expect(() => createX5uPolicy({ allowCidrs: ['10.0.0.0/33'] })).toThrow(/10\.0\.0\.0\/33/);
    expect(() => createX5uPolicy({ denyCidrs: ['example.com/8'] })).toThrow(/example\.com/);
  });
});

describe('checkX5uUrl', () => {
  const cases: [string, string | true][] = [
    ['https://cert.example.org/sp.pem', true],
    ['https://cert.example.org:8443/sp.pem', true],
    ['https://cert.example.org:443/sp.pem', true],
    ['http://cert.example.org/sp.pem', 'scheme http: not allowed'],
    ['ftp://cert.example.org/sp.pem', 'scheme ftp: not allowed'],
    ['file:///etc/passwd', 'scheme file: not allowed'],
    ['https://cert.example.org:8080/sp.pem', 'port 8080 not allowed'],
    ['https://user:pw@cert.example.org/sp.pem', 'userinfo not allowed'],
    ['https://user@cert.example.org/sp.pem', 'userinfo not allowed'],
    ['https://cert.example.org/sp.pem?x=1', 'query not allowed'],
    ['https://cert.example.org/sp.pem?', 'query not allowed'],
    ['https://cert.example.org/sp.pem#frag', 'fragment not allowed'],
    ['https://127.0.0.1/sp.pem', 'address 127.0.0.1 not allowed'],
    ['https://2130706433/sp.pem', 'address 127.0.0.1 not allowed'],
    ['https://0x7f.1/sp.pem', 'address 127.0.0.1 not allowed'],
    ['https://[::1]/sp.pem', 'address ::1 not allowed'],
    ['https://[::ffff:169.254.169.254]/sp.pem', 'address 169.254.169.254 not allowed'],
    ['https://169.254.169.254/latest/meta-data', 'address 169.254.169.254 not allowed'],
    ['not a url', 'not a URL'],
    [`https://cert.example.org/${'a'.repeat(2100)}`, 'url too long'],
  ];
  it.each(cases)('%s -> %s', (url, expected) => {
    const r = checkX5uUrl(url, strict);
    if (expected === true) expect(r.ok).toBe(true);
    else expect(r).toEqual({ ok: false, reason: expected });
  });

  it('allowHttp, port lists and query allowance are configurable', () => {
    const lab = createX5uPolicy({ allowHttp: true, ports: [80, 8080], allowQuery: true });
    expect(checkX5uUrl('http://cert.example.org/sp.pem', lab).ok).toBe(true);
    expect(checkX5uUrl('http://cert.example.org:8080/sp.pem?v=2', lab).ok).toBe(true);
    expect(checkX5uUrl('https://cert.example.org/sp.pem', lab)).toEqual({
      ok: false,
      reason: 'port 443 not allowed',
    });
  });
});

describe('fetchX5u (loopback only)', () => {
  let server: Server;
  let port: number;
  const PEM = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok.pem') {
        res.writeHead(200, { 'cache-control': 'max-age=600', expires: 'Wed, 21 Oct 2037 07:28:00 GMT' });
        res.end(PEM);
      } else if (req.url === '/chunked-big') {
        // No Content-Length: the cap must trip while streaming.
        res.writeHead(200);
        const chunk = 'x'.repeat(1024);
        let n = 0;
        const pump = (): void => {
          while (n < 200 && res.write(chunk)) n++;
          if (n < 200) res.once('drain', pump);
          else res.end();
        };
        pump();
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: 'http://169.254.169.254/' });
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const lab = createX5uPolicy({ allowHttp: true, ports: 'any', allowCidrs: ['127.0.0.1/32'] });
  const opts = { timeoutMs: 500, maxBodyBytes: 8192, policy: lab };

  it('returns the body and caching headers', async () => {
    const r = await fetchX5u(new URL(`http://127.0.0.1:${port}/ok.pem`), opts);
    expect(r).toEqual({
      ok: true,
      pem: PEM,
      cacheControl: 'max-age=600',
      expires: 'Wed, 21 Oct 2037 07:28:00 GMT',
    });
  });

  it('caps a streamed body', async () => {
    const r = await fetchX5u(new URL(`http://127.0.0.1:${port}/chunked-big`), opts);
    expect(r).toMatchObject({ ok: false, code: 'cert_fetch_failed' });
    expect(!r.ok && r.detail).toMatch(/body too large/);
  });

  it('does not follow redirects', async () => {
    const r = await fetchX5u(new URL(`http://127.0.0.1:${port}/redirect`), opts);
    expect(r).toEqual({ ok: false, code: 'cert_fetch_failed', detail: 'http status 302' });
  });

  it('resolves names once, checks every address, connects to the vetted one (pinned)', async () => {
    const calls: string[] = [];
    // DNS rebinding: the first answer is loopback (allowed by the lab policy), later answers are metadata.
    const lookup: ResolveAll = async (host) => {
      calls.push(host);
      return calls.length === 1
        ? [{ address: '127.0.0.1', family: 4 }]
        : [{ address: '169.254.169.254', family: 4 }];
    };
    const r = await fetchX5u(new URL(`http://certs.example.test:${port}/ok.pem`), { ...opts, lookup });
    expect(r.ok).toBe(true);
    expect(calls).toEqual(['certs.example.test']);
  });

  it('refuses when any resolved address is disallowed, before connecting', async () => {
    let connects = 0;
    server.on('connection', () => connects++);
    const lookup: ResolveAll = async () => [
      { address: '127.0.0.1', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    const r = await fetchX5u(new URL(`http://certs.example.test:${port}/ok.pem`), { ...opts, lookup });
    expect(r).toEqual({ ok: false, code: 'x5u_disallowed', detail: 'resolved address 10.0.0.7 not allowed' });
    const r6 = await fetchX5u(new URL(`http://certs.example.test:${port}/ok.pem`), {
      ...opts,
      lookup: async () => [{ address: '::ffff:192.168.0.1', family: 6 }],
    });
    expect(r6).toMatchObject({ ok: false, code: 'x5u_disallowed' });
    expect(connects).toBe(0);
  });

  it('a DNS failure or a hanging resolver is cert_fetch_failed within the deadline', async () => {
    const fail = await fetchX5u(new URL('http://nx.example.test/ok.pem'), {
      ...opts,
      lookup: async () => {
        throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      },
    });
    expect(fail).toEqual({ ok: false, code: 'cert_fetch_failed', detail: 'dns: ENOTFOUND: not found' });
    const t0 = performance.now();
    const hang = await fetchX5u(new URL('http://slow.example.test/ok.pem'), {
      ...opts,
      timeoutMs: 100,
      lookup: () => new Promise(() => {}),
    });
    expect(hang).toEqual({ ok: false, code: 'cert_fetch_failed', detail: 'dns: timeout' });
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('re-checks the URL policy itself (never throws)', async () => {
    const r = await fetchX5u(new URL('https://10.0.0.1/sp.pem'), { ...opts, policy: strict });
    expect(r).toEqual({ ok: false, code: 'x5u_disallowed', detail: 'address 10.0.0.1 not allowed' });
    const refused = await fetchX5u(new URL('http://127.0.0.1:1/sp.pem'), opts);
    expect(refused).toMatchObject({ ok: false, code: 'cert_fetch_failed' });
  });
});

describe('fetchX5u over HTTPS (pinned address, SNI and name check on the URL host)', () => {
  it('fetches from a loopback HTTPS server whose certificate names the URL host, trusting a lab CA', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stirgate-x5u-tls-'));
    const pki = await createDevPki(dir);
    const tlsCert = await issueCertificate({
      issuerCertPem: pki.intermediatePem!,
      issuerKeyPem: pki.intermediateKeyPem!,
      subject: 'CN=certs.example.test',
      spc: null,
    });
    const server = await startX5uServer({
      files: { 'sp.pem': pki.spChainPem },
      tls: { key: tlsCert.keyPem, cert: tlsCert.certPem + pki.intermediatePem! },
    });
    try {
      const policy = createX5uPolicy({ ports: [server.port], allowCidrs: ['127.0.0.1/32'] });
      const lookup: ResolveAll = async () => [{ address: '127.0.0.1', family: 4 }];
      const url = new URL(`https://certs.example.test:${server.port}/sp.pem`);
      const ok = await fetchX5u(url, { timeoutMs: 2000, maxBodyBytes: 16384, policy, lookup, ca: pki.caPem });
      expect(ok).toMatchObject({ ok: true, pem: pki.spChainPem });
      // Without the lab CA the TLS handshake fails: a fetch failure, not a throw.
      const untrusted = await fetchX5u(url, { timeoutMs: 2000, maxBodyBytes: 16384, policy, lookup });
      expect(untrusted).toMatchObject({ ok: false, code: 'cert_fetch_failed' });
      // Another host name resolving to the same address fails the certificate name check.
      const wrongName = new URL(`https://other.example.test:${server.port}/sp.pem`);
      const mismatch = await fetchX5u(wrongName, {
        timeoutMs: 2000,
        maxBodyBytes: 16384,
        policy,
        lookup,
        ca: pki.caPem,
      });
      expect(mismatch).toMatchObject({ ok: false, code: 'cert_fetch_failed' });
      expect(!mismatch.ok && mismatch.detail).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|altname|Hostname/i);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
