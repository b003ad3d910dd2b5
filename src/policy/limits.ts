import type { CustomerLimitsConfig } from '../config/types.js';
import type { CustomerLimits } from './controls.js';

/**
 * The limits a customer's calls are admitted under (issue 17): each value from the first of
 *   1. the operator's override (`PATCH /v1/customers/{name}/limits`, Controls.limitOverrides),
 *   2. the customer's configured `limits`,
 *   3. `policy.default_limits` (a customer that sets none starts low).
 * Per value, so an override of `cps` alone keeps the configured `burst` and `max_concurrent`.
 */
export function effectiveLimits(
  override: Partial<CustomerLimits> | undefined,
  configured: CustomerLimitsConfig | undefined,
  defaults: CustomerLimitsConfig,
): CustomerLimits {
  const base = configured ?? defaults;
  if (override === undefined) return base;
  return {
    cps: override.cps ?? base.cps,
    burst: override.burst ?? base.burst,
    maxConcurrent: override.maxConcurrent ?? base.maxConcurrent,
  };
}
