/**
 * `stirgate pki init DIR`: create (or keep) a development SHAKEN PKI in DIR and say what is there.
 * Development only; see src/stir/pki/dev-pki.ts.
 */
import { X509Certificate } from 'node:crypto';
import { type DevPkiOptions, loadOrCreateDevPki } from '../stir/pki/dev-pki.js';

export interface PkiInitOptions extends DevPkiOptions {
  /** Where to print (default console.log). */
  readonly print?: (line: string) => void;
}

export async function pkiInit(dir: string, opts: PkiInitOptions = {}): Promise<void> {
  const print = opts.print ?? ((line: string) => console.log(line));
  const pki = await loadOrCreateDevPki(dir, opts);
  const sp = new X509Certificate(pki.spCertPem);
  print(pki.created ? `created development SHAKEN PKI in ${pki.dir}` : `kept existing PKI in ${pki.dir}`);
  print(`  STI-CA root (trust anchor)   ${pki.files.ca}`);
  if (pki.files.intermediate) print(`  intermediate CA              ${pki.files.intermediate}`);
  print(`  SP certificate               ${pki.files.sp}`);
  print(`  SP chain (serve at x5u URL)  ${pki.files.spChain}`);
  print(`  SP private key               ${pki.files.spKey}`);
  print(`  SPC ${pki.spc}, SP certificate valid until ${new Date(sp.validTo).toISOString()}`);
  print(`  SP certificate SHA-256 ${sp.fingerprint256}`);
  print('not for production: real SP certificates come from an STI-CA (ATIS-1000080)');
}
