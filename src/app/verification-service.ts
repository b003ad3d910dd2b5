import { readFile } from 'node:fs/promises';
import type { Config } from '../config/index.js';
import { CertCache } from '../stir/certs/cert-cache.js';
import { fetchX5u } from '../stir/certs/fetch.js';
import { TrustStore } from '../stir/certs/trust.js';
import { createX5uPolicy } from '../stir/certs/x5u-policy.js';
import type { DevPki } from '../stir/pki/dev-pki.js';
import { MemoryReplayStore, type ReplayStore } from '../stir/replay-store.js';
import { Verifier } from '../stir/verifier.js';
import { StartupError } from './startup-error.js';

/**
 * The verification service (RFC 8224 §6.2, ATIS-1000074 §5.3): trust roots (configured, or the development
 * PKI's CA), the x5u policy (STIR-NOTES: SSRF), the certificate cache and the replay store (the cluster
 * primary's when `replay` is given).
 */
export async function createVerification(
  config: Config,
  devPki: DevPki | undefined,
  replay: ReplayStore | undefined,
): Promise<{ verifier: Verifier; certCache: CertCache }> {
  const v = config.stir.verification;
  let trust: TrustStore;
  try {
    if (v.trustRootsDir !== undefined) {
      trust = await TrustStore.fromDirectory(
        v.trustRootsDir,
        v.crlFile !== undefined ? { crlFile: v.crlFile } : {},
      );
    } else {
      const crlFile = v.crlFile;
      const crl =
        crlFile === undefined
          ? undefined
          : await readFile(crlFile, 'latin1').catch((cause: unknown) => {
              throw new StartupError('trust_roots', `stir.verification.crl_file: cannot read ${crlFile}`, {
                cause,
              });
            });
      trust = TrustStore.fromPem(devPki!.caPem, crl !== undefined ? { crl } : {});
    }
  } catch (cause) {
    if (cause instanceof StartupError) throw cause;
    throw new StartupError('trust_roots', `stir.verification.trust_roots_dir: ${(cause as Error).message}`, {
      cause,
    });
  }
  const policy = createX5uPolicy({
    allowHttp: v.x5u.allowHttp,
    ports: v.x5u.allowedPorts,
    allowUserinfo: v.x5u.allowUserinfoQuery,
    allowQuery: v.x5u.allowUserinfoQuery,
    allowCidrs: v.x5u.allowCidrs,
    denyCidrs: v.x5u.denyCidrs,
  });
  const certCache = new CertCache({
    trust,
    max: v.cache.maxEntries,
    minTtlMs: v.cache.minTtlS * 1000,
    maxTtlMs: v.cache.maxTtlS * 1000,
    defaultTtlMs: v.cache.defaultTtlS * 1000,
    negativeTtlMs: v.cache.negativeTtlS * 1000,
    fetch: (url) => fetchX5u(url, { timeoutMs: v.x5u.timeoutMs, maxBodyBytes: v.x5u.maxBodyBytes, policy }),
  });
  const verifier = new Verifier({
    trust,
    cache: certCache,
    replay: replay ?? new MemoryReplayStore({ max: v.replay.maxEntries }),
    x5uPolicy: policy,
    maxAgeS: v.maxAgeS,
    maxFutureSkewS: v.maxFutureSkewS,
    signatureCheck: v.signatureCheck,
  });
  return { verifier, certCache };
}
