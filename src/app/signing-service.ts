import { readFile } from 'node:fs/promises';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { loadSigningMaterial } from '../stir/keys.js';
import type { DevPki } from '../stir/pki/dev-pki.js';
import { startX5uServer } from '../stir/pki/x5u-server.js';
import { Signer } from '../stir/signer.js';
import type { Closers } from './closers.js';
import { StartupError } from './startup-error.js';

/**
 * The authentication service's material (RFC 8224 §5, ATIS-1000080): the configured key and certificate, or
 * the development PKI with its certificate served on loopback as the x5u. Every failure names the key.
 */
export async function startSigning(
  config: Config,
  devPki: DevPki | undefined,
  closers: Closers,
  logger: Logger,
): Promise<{ signer: Signer; x5u: string }> {
  let keyPem: string;
  let certPem: string;
  let x5u: string;
  const s = config.stir.signing;
  if (s !== undefined) {
    keyPem = await readKeyed(s.privateKeyFile, 'stir.signing.private_key_file');
    certPem = await readKeyed(s.certificateFile, 'stir.signing.certificate_file');
    x5u = s.x5uUrl;
  } else {
    const pki = devPki!;
    keyPem = pki.spKeyPem;
    certPem = pki.spChainPem;
    const at = config.stir.devPki.x5uListen;
    const server = await startX5uServer({
      address: at.address,
      port: at.port,
      files: { 'sp.pem': pki.spChainPem },
    }).catch((cause: unknown) => {
      throw new StartupError(
        'listen',
        `stir.dev_pki.x5u_listen: cannot listen on ${at.address}:${at.port}: ${(cause as Error).message}`,
        { cause },
      );
    });
    closers.add(() => server.close());
    x5u = server.url('sp.pem');
    logger.info({ x5u, pki: pki.dir }, 'development PKI: serving the SP certificate on loopback');
  }
  let material: ReturnType<typeof loadSigningMaterial>;
  try {
    material = loadSigningMaterial({ privateKeyPem: keyPem, certificatePem: certPem });
  } catch (cause) {
    const what = s === undefined ? `development PKI in ${devPki?.dir}` : 'stir.signing';
    throw new StartupError('signing_material', `${what}: ${(cause as Error).message}`, { cause });
  }
  return { signer: new Signer({ privateKey: material.privateKey, x5u }), x5u };
}

function readKeyed(file: string, key: string): Promise<string> {
  return readFile(file, 'utf8').catch((cause: unknown) => {
    throw new StartupError('signing_material', `${key}: cannot read ${file}`, { cause });
  });
}
