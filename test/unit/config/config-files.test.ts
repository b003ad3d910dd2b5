import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfigFiles } from '../../../src/app/config-files.js';
import { parseConfig } from '../../../src/config/index.js';
import { createDevPki, type DevPki } from '../../../src/stir/pki/dev-pki.js';
import { BASE } from './support.js';

let dir: string;
let pki: DevPki;
let other: DevPki;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stirgate-files-'));
  pki = await createDevPki(join(dir, 'pki'));
  other = await createDevPki(join(dir, 'other'));
  await mkdir(join(dir, 'roots'));
  await mkdir(join(dir, 'empty-roots'));
  await writeFile(join(dir, 'roots', 'ca.pem'), pki.caPem);
  await writeFile(join(dir, 'garbage.pem'), 'not a PEM at all\n');
  await writeFile(join(dir, 'dno.txt'), '12025550100\nnot-a-number\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function configWith(stir: string, policy = ''): ReturnType<typeof parseConfig> {
  return parseConfig(`${BASE}stir:\n${stir}${policy}`, 'test.yaml');
}

const signing = (key: string, cert: string) =>
  `  signing:\n    private_key_file: ${key}\n    certificate_file: ${cert}\n    x5u_url: https://certs.example.test/sp.pem\n`;

describe('checkConfigFiles: the files a configuration names, read as start reads them', () => {
  it('good key, certificate, trust roots: no problem, no warning', async () => {
    const c = configWith(
      `${signing(pki.files.spKey, pki.files.spChain)}  verification:\n    trust_roots_dir: ${join(dir, 'roots')}\n`,
    );
    expect(await checkConfigFiles(c)).toEqual({ problems: [], warnings: [] });
  });

  it('a missing key file and a missing certificate: each at its key path', async () => {
    const c = configWith(signing(join(dir, 'absent-key.pem'), join(dir, 'absent-cert.pem')));
    const r = await checkConfigFiles(c);
    expect(r.problems.map((p) => [p.path, p.code])).toEqual([
      ['stir.signing.certificate_file', 'read_failed'],
      ['stir.signing.private_key_file', 'read_failed'],
    ]);
    expect(r.problems[1]!.message).toMatch(/absent-key\.pem.*ENOENT/);
  });

  it('a garbage key file is a problem at private_key_file', async () => {
    const r = await checkConfigFiles(configWith(signing(join(dir, 'garbage.pem'), pki.files.spChain)));
    expect(r.problems).toMatchObject([{ path: 'stir.signing.private_key_file', code: 'invalid_value' }]);
  });

  it('a garbage certificate, or a key of another certificate, is a problem at certificate_file', async () => {
    const garbage = await checkConfigFiles(configWith(signing(pki.files.spKey, join(dir, 'garbage.pem'))));
    expect(garbage.problems).toMatchObject([
      { path: 'stir.signing.certificate_file', code: 'invalid_value' },
    ]);
    const mismatch = await checkConfigFiles(configWith(signing(other.files.spKey, pki.files.spChain)));
    expect(mismatch.problems).toMatchObject([
      { path: 'stir.signing.certificate_file', message: expect.stringMatching(/does not match/) },
    ]);
  });

  it('trust roots: a missing directory, a bad file in it, an empty one (warning); a bad CRL', async () => {
    const missing = await checkConfigFiles(
      configWith(`  verification:\n    trust_roots_dir: ${join(dir, 'nope')}\n`),
    );
    expect(missing.problems).toMatchObject([
      { path: 'stir.verification.trust_roots_dir', code: 'read_failed' },
    ]);
    const bad = await checkConfigFiles(
      configWith(`  verification:\n    trust_roots_dir: ${dir}\n    crl_file: ${join(dir, 'garbage.pem')}\n`),
    );
    expect(bad.problems).toMatchObject([
      { path: 'stir.verification.crl_file', code: 'invalid_value' },
      {
        path: 'stir.verification.trust_roots_dir',
        code: 'invalid_value',
        message: expect.stringContaining('garbage.pem'),
      },
    ]);
    const empty = await checkConfigFiles(
      configWith(`  verification:\n    trust_roots_dir: ${join(dir, 'empty-roots')}\n`),
    );
    expect(empty).toMatchObject({ problems: [], warnings: [{ code: 'no_trust_roots' }] });
  });

  it('the do-not-originate file: each bad line at policy.dno_file', async () => {
    const c = configWith(`  verification: {}\n`, `policy:\n  dno_file: ${join(dir, 'dno.txt')}\n`);
    const r = await checkConfigFiles(c);
    expect(r.problems).toMatchObject([{ path: 'policy.dno_file', line: 2 }]);
  });
});
