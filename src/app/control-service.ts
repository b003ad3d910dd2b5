import { access } from 'node:fs/promises';
import type { CustomerSources } from '../admin/customers-resource.js';
import type { Config } from '../config/index.js';
import { ControlPlane } from '../control/control-plane.js';
import type { Logger } from '../log/logger.js';
import type { CustomerFigures } from '../policy/admission-counters.js';
import type { CustomerLimits } from '../policy/controls.js';
import { TracebackStoreThread } from '../traceback/store-thread.js';
import type { Closers } from './closers.js';
import { StartupError } from './startup-error.js';
import { tracebackFile } from './traceback-service.js';

/**
 * The operator controls of the single process or the cluster primary (docs/operations.md "Blocks, limits and
 * the audit log"): the control store in the traceback SQLite file (`traceback.file`, default
 * `<data_dir>/traceback.db`), opened on a store thread of its own whether or not traceback records are on, so
 * blocks apply and survive restarts either way. Opened when the admin API is on (the way to change them) or
 * the file exists (blocks added before still apply); otherwise there are none and nothing is created.
 * Call after the traceback store is open: that one migrates the file first. `current` is the running
 * configuration once reloads replace it (which customers and trunks a block may name).
 */
export async function startControlPlane(
  config: Config,
  logger: Logger,
  closers: Closers,
  current: () => Config = () => config,
): Promise<ControlPlane | undefined> {
  const file = tracebackFile(config);
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  if (config.admin.listen === undefined && !exists) return undefined;
  const thread = await TracebackStoreThread.open({
    file,
    retentionDays: 0,
    records: false,
    controls: true,
  }).catch((cause: unknown) => {
    throw new StartupError('data_dir', `controls: cannot open ${file}: ${(cause as Error).message}`, {
      cause,
    });
  });
  const store = thread.controls();
  const plane = await ControlPlane.start({ store, config: current, logger }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  closers.add(async () => {
    plane.close();
    await store.close();
  });
  logger.info(
    { file, blocks: plane.controls.current.blocks.length, event: 'controls_loaded' },
    'operator controls loaded',
  );
  return plane;
}

/** The limits the configuration gives a customer: its own, or `policy.default_limits`. */
export function configuredLimits(config: Config, customer: string): CustomerLimits {
  return config.customers.find((c) => c.name === customer)?.limits ?? config.policy.defaultLimits;
}

/** The customers resource's view of `config` and of the counters that are authoritative here. */
export function customerSources(
  config: () => Config,
  figures: () => readonly CustomerFigures[] | Promise<readonly CustomerFigures[]>,
): CustomerSources {
  return { config, configuredLimits: (name) => configuredLimits(config(), name), figures };
}
