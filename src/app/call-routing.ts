import type { CallRouting } from '../b2bua/call-setup.js';
import type { HookChains } from '../b2bua/invite-hooks.js';
import type { Config } from '../config/index.js';
import { buildRouting } from './routing.js';

/**
 * Builds the hook chains of a configuration (src/app/hook-chains.ts `buildHookChains` with the element's
 * services bound). May be asynchronous: whatever file a hook needs is read here, before the swap, never on
 * the call path.
 */
export type HookChainsBuilder = (config: Config) => HookChains | Promise<HookChains>;

/**
 * What the B2BUA takes for new calls from one configuration: trunks and routes, the unmatched-source policy,
 * the hook chains and the call limit. Built the same way at start and on every reload (src/app/reload.ts).
 */
export async function buildCallRouting(
  config: Config,
  hookChains: HookChainsBuilder,
  workers: number,
): Promise<CallRouting> {
  const { router, unmatchedTrunk } = buildRouting(config);
  return {
    router,
    hooks: await hookChains(config),
    unmatched: {
      action: config.unmatchedSource.action,
      status: config.unmatchedSource.status,
      ...(unmatchedTrunk !== undefined ? { trunk: unmatchedTrunk } : {}),
    },
    // Cluster mode: each worker admits its share, so the element as a whole keeps the configured limit.
    maxCalls: Math.ceil(config.sip.callLimits.maxCalls / workers),
  };
}
