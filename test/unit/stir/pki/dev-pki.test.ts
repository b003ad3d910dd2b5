import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkiInit } from '../../../../src/cli/pki-init.js';
import { findTnAuthList } from '../../../../src/stir/certs/tnauthlist.js';
import { splitPemCertificates } from '../../../../src/stir/keys.js';
import {
  createDevPki,
  createRootCa,
  type DevPki,
  issueCertificate,
  loadOrCreateDevPki,
} from '../../../../src/stir/pki/dev-pki.js';
import { startX5uServer } from '../../../../src/stir/pki/x5u-server.js';

describe('dev PKI', () => {
  let root: string;
  let pki: DevPki;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'stirgate-devpki-'));
    pki = await createDevPki(join(root, 'a'), { spc: '9876', x5uBase: 'http://127.0.0.1:8080/' });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the PEM files; keys are private to the owner', async () => {
    expect(await readFile(pki.files.ca, 'utf8')).toBe(pki.caPem);
    expect(await readFile(pki.files.sp, 'utf8')).toBe(pki.spCertPem);
    expect(await readFile(pki.files.spChain, 'utf8')).toBe(pki.spChainPem);
    expect(await readFile(pki.files.spKey, 'utf8')).toBe(pki.spKeyPem);
    expect((await stat(pki.files.spKey)).mode & 0o777).toBe(0o600);
    expect((await stat(pki.files.caKey)).mode & 0o777).toBe(0o600);
    expect(pki.x5u).toBe('http://127.0.0.1:8080/sp.pem');
    expect(pki.spc).toBe('9876');
  });

  it('root -> intermediate -> SP chain verifies, with the expected profile', () => {
    const [spPem, interPem] = splitPemCertificates(pki.spChainPem);
    const sp = new X509Certificate(spPem!);
    const inter = new X509Certificate(interPem!);
    const ca = new X509Certificate(pki.caPem);
    expect(spPem).toBe(splitPemCertificates(pki.spCertPem)[0]);
    expect(sp.checkIssued(inter) && sp.verify(inter.publicKey)).toBe(true);
    expect(inter.checkIssued(ca) && inter.verify(ca.publicKey)).toBe(true);
    expect(ca.checkIssued(ca) && ca.verify(ca.publicKey)).toBe(true);
    expect(ca.ca).toBe(true);
    expect(inter.ca).toBe(true);
    expect(sp.ca).toBe(false);
    expect(sp.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(sp.subject).toContain('CN=SHAKEN 9876');
    const tn = findTnAuthList(sp.raw);
    expect(tn.ok && tn.value.spc).toBe('9876');
    // An SP certificate does not verify against the root directly.
    expect(sp.verify(ca.publicKey)).toBe(false);
  });

  it('without an intermediate the chain is the SP certificate alone, issued by the root', async () => {
    const p = await createDevPki(join(root, 'b'), { intermediate: false });
    expect(splitPemCertificates(p.spChainPem)).toHaveLength(1);
    expect(p.files.intermediate).toBeUndefined();
    const sp = new X509Certificate(p.spCertPem);
    expect(sp.verify(new X509Certificate(p.caPem).publicKey)).toBe(true);
  });

  it('loadOrCreateDevPki reuses existing files and recreates missing ones', async () => {
    const again = await loadOrCreateDevPki(pki.dir);
    expect(again.created).toBe(false);
    expect(again.spCertPem).toBe(pki.spCertPem);
    expect(again.intermediatePem).toBe(pki.intermediatePem);
    expect(again.spc).toBe('9876');
    const dir = join(root, 'c');
    const first = await loadOrCreateDevPki(dir);
    expect(first.created).toBe(true);
    await unlink(first.files.spKey);
    const second = await loadOrCreateDevPki(dir);
    expect(second.created).toBe(true);
    expect(second.spCertPem).not.toBe(first.spCertPem);
  });

  it('pkiInit prints what it wrote, then that it kept it', async () => {
    const lines: string[] = [];
    await pkiInit(join(root, 'd'), { print: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/^created development SHAKEN PKI in /);
    expect(lines.join('\n')).toContain('sp-chain.pem');
    expect(lines.join('\n')).toContain('SPC 1234');
    lines.length = 0;
    await pkiInit(join(root, 'd'), { print: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/^kept existing PKI in /);
  });
});

describe('x5u server', () => {
  it('serves PEM chains with the content type and cache headers; 404/405 otherwise', async () => {
    const srv = await startX5uServer({ files: { 'sp.pem': 'PEM-A' } });
    try {
      expect(srv.url('sp.pem')).toBe(`http://127.0.0.1:${srv.port}/sp.pem`);
      const r = await fetch(srv.url('sp.pem'));
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/pem-certificate-chain');
      expect(r.headers.get('cache-control')).toBe('max-age=3600');
      expect(await r.text()).toBe('PEM-A');
      const head = await fetch(srv.url('sp.pem'), { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('5');
      expect((await fetch(srv.url('other.pem'))).status).toBe(404);
      expect((await fetch(`${srv.baseUrl}/%E0%A4%A`)).status).toBe(404);
      expect((await fetch(srv.url('sp.pem'), { method: 'POST', body: 'x' })).status).toBe(405);
      srv.setFile('other.pem', 'PEM-B');
      expect(await (await fetch(srv.url('other.pem') + '?v=1')).text()).toBe('PEM-B');
    } finally {
      await srv.close();
    }
    await expect(fetch(`http://127.0.0.1:${srv.port}/sp.pem`)).rejects.toThrow();
  });

  it('serves over HTTPS when given a key and certificate', async () => {
    const ca = await createRootCa();
    const tls = await issueCertificate({
      issuerCertPem: ca.certPem,
      issuerKeyPem: ca.keyPem,
      subject: 'CN=127.0.0.1',
      spc: null,
    });
    const srv = await startX5uServer({
      files: { 'sp.pem': 'PEM-TLS' },
      tls: { key: tls.keyPem, cert: tls.certPem },
    });
    try {
      expect(srv.baseUrl).toBe(`https://127.0.0.1:${srv.port}`);
      const body = await new Promise<string>((resolve, reject) => {
        httpsGet(srv.url('sp.pem'), { ca: ca.certPem, checkServerIdentity: () => undefined }, (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            data += c;
          });
          res.on('end', () => resolve(`${res.statusCode} ${res.headers['content-type']} ${data}`));
        }).on('error', reject);
      });
      expect(body).toBe('200 application/pem-certificate-chain PEM-TLS');
    } finally {
      await srv.close();
    }
  });
});
