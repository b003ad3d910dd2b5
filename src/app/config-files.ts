import { createPrivateKey } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Config, ConfigError, type ConfigProblem, type ConfigWarning } from '../config/index.js';
import { parseCrlSerials, TrustStore } from '../stir/certs/trust.js';
import { loadSigningMaterial, StirConfigError, type StirConfigErrorCode } from '../stir/keys.js';
import { loadDnoFile } from './dno-file.js';

/**
 * The files a configuration names, read and parsed the way start reads them (src/app/signing-service.ts,
 * verification-service.ts, dno-file.ts), for `stirgate config check`: the signing key and certificate
 * (the same loadSigningMaterial checks: P-256, key matches, validity, TNAuthList), each trust root, the
 * CRL, the do-not-originate list. Every problem carries its key path; nothing stops at the first one.
 * A file is checked whenever it is configured, even when no trunk's role needs it yet (a reload may add one).
 */
export interface ConfigFilesReport {
  readonly problems: readonly ConfigProblem[];
  readonly warnings: readonly ConfigWarning[];
}

/** Which key a signing-material failure is about. */
const SIGNING_KEY_OF = {
  bad_pem: 'certificate_file', // unless the key itself does not parse (checked first below)
  key_not_p256: 'private_key_file',
  key_cert_mismatch: 'certificate_file',
  no_tnauthlist: 'certificate_file',
  cert_expired: 'certificate_file',
  cert_not_yet_valid: 'certificate_file',
} as const satisfies Record<StirConfigErrorCode, 'private_key_file' | 'certificate_file'>;

export async function checkConfigFiles(config: Config): Promise<ConfigFilesReport> {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigWarning[] = [];
  await Promise.all([
    checkSigning(config, problems),
    checkTrust(config, problems, warnings),
    checkDno(config, problems),
  ]);
  // Stable order whatever finished first: by key path.
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { problems, warnings };
}

async function readKeyed(
  file: string,
  path: string,
  problems: ConfigProblem[],
  encoding: 'utf8' | 'latin1' | null,
): Promise<string | Buffer | undefined> {
  try {
    return encoding === null ? await readFile(file) : await readFile(file, encoding);
  } catch (err) {
    problems.push({ path, code: 'read_failed', message: `cannot read ${JSON.stringify(file)}: ${why(err)}` });
    return undefined;
  }
}

async function checkSigning(config: Config, problems: ConfigProblem[]): Promise<void> {
  const s = config.stir.signing;
  if (s === undefined) return;
  const keyPath = 'stir.signing.private_key_file';
  const [keyPem, certPem] = await Promise.all([
    readKeyed(s.privateKeyFile, keyPath, problems, 'utf8'),
    readKeyed(s.certificateFile, 'stir.signing.certificate_file', problems, 'utf8'),
  ]);
  if (keyPem === undefined) return;
  try {
    createPrivateKey({ key: keyPem, format: 'pem' });
  } catch {
    problems.push({
      path: keyPath,
      code: 'invalid_value',
      message: `${JSON.stringify(s.privateKeyFile)} holds no readable private key PEM`,
    });
    return;
  }
  if (certPem === undefined) return;
  try {
    loadSigningMaterial({ privateKeyPem: String(keyPem), certificatePem: String(certPem) });
  } catch (err) {
    if (!(err instanceof StirConfigError)) throw err;
    problems.push({
      path: `stir.signing.${SIGNING_KEY_OF[err.code]}`,
      code: 'invalid_value',
      message: err.message,
    });
  }
}

async function checkTrust(
  config: Config,
  problems: ConfigProblem[],
  warnings: ConfigWarning[],
): Promise<void> {
  const v = config.stir.verification;
  if (v.crlFile !== undefined) {
    const bytes = await readKeyed(v.crlFile, 'stir.verification.crl_file', problems, null);
    if (bytes !== undefined) {
      // As TrustStore.fromDirectory reads it: PEM when it has a BEGIN line, else DER.
      const buf = bytes as Buffer;
      try {
        parseCrlSerials(buf.includes('-----BEGIN') ? buf.toString('latin1') : buf);
      } catch (err) {
        problems.push({ path: 'stir.verification.crl_file', code: 'invalid_value', message: why(err) });
      }
    }
  }
  const dir = v.trustRootsDir;
  if (dir === undefined) return;
  const path = 'stir.verification.trust_roots_dir';
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.(pem|crt|cer)$/i.test(n)).sort();
  } catch (err) {
    problems.push({
      path,
      code: 'read_failed',
      message: `cannot read directory ${JSON.stringify(dir)}: ${why(err)}`,
    });
    return;
  }
  for (const name of names) {
    const file = join(dir, name);
    const pem = await readKeyed(file, path, problems, 'latin1');
    if (pem === undefined) continue;
    try {
      TrustStore.fromPem(String(pem));
    } catch (err) {
      problems.push({ path, code: 'invalid_value', message: `${JSON.stringify(file)}: ${why(err)}` });
    }
  }
  if (names.length === 0) {
    warnings.push({
      path,
      code: 'no_trust_roots',
      message: `${JSON.stringify(dir)} holds no *.pem, *.crt or *.cer file: every verification will fail`,
    });
  }
}

async function checkDno(config: Config, problems: ConfigProblem[]): Promise<void> {
  try {
    await loadDnoFile(config.policy.dnoFile);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
}

function why(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
}
