import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrunkRole } from '../b2bua/router.js';
import type { Config } from '../config/index.js';
import { type DevPki, loadOrCreateDevPki } from '../stir/pki/dev-pki.js';
import { ensureOrigids } from './origids-file.js';
import { StartupError } from './startup-error.js';

/** The trunk roles an element serves: which services (signing, verification) it starts. */
export function rolesOf(config: Config): Set<TrunkRole> {
  const roles = new Set(config.trunks.map((t) => t.role));
  if (config.unmatchedSource.action === 'passthrough') roles.add('passthrough');
  return roles;
}

/**
 * State in data_dir that must exist before the element starts: the directory, generated origids, and the
 * development PKI when it is needed. A cluster primary runs this before forking, so workers only read.
 */
export async function prepareState(input: Config): Promise<{ config: Config; devPki: DevPki | undefined }> {
  await mkdir(input.dataDir, { recursive: true }).catch((cause: unknown) => {
    throw new StartupError('data_dir', `data_dir: cannot create ${input.dataDir}`, { cause });
  });
  const config = await ensureOrigids(input);
  const roles = rolesOf(config);
  const needDevPki =
    (roles.has('originating') && config.stir.signing === undefined) ||
    (roles.has('terminating') && config.stir.verification.trustRootsDir === undefined);
  const devPki = needDevPki
    ? await loadOrCreateDevPki(join(config.dataDir, 'pki'), { spc: config.stir.devPki.spc })
    : undefined;
  return { config, devPki };
}
