import type { HookChains } from '../b2bua/invite-hooks.js';
import { type CustomerRuntime, SigningHook } from '../b2bua/signing-hook.js';
import { VerificationHook } from '../b2bua/verification-hook.js';
import type { Config, CustomerConfig, NumberEntryConfig } from '../config/index.js';
import { compileNumberSet } from '../policy/attestation.js';
import type { Signer } from '../stir/signer.js';
import type { Verifier } from '../stir/verifier.js';

/**
 * The ordered hook chain of each trunk role (docs/architecture.md, "The hook chain"). Today: sign on
 * originating trunks, verify on terminating ones; admission and block hooks take their place in front.
 */
export function buildHookChains(
  config: Config,
  signer: Signer | undefined,
  verifier: Verifier | undefined,
): HookChains {
  const customers = new Map<string, CustomerRuntime>(
    config.customers.map((c) => [c.name, customerRuntime(c)]),
  );
  return {
    ...(signer !== undefined ? { originating: [new SigningHook({ signer, customers })] } : {}),
    ...(verifier !== undefined ? { terminating: [new VerificationHook({ verifier })] } : {}),
  };
}

function customerRuntime(c: CustomerConfig): CustomerRuntime {
  return { name: c.name, origid: c.origid ?? '', numbers: compileNumberSet(c.numbers.map(numberEntry)) };
}

function numberEntry(e: NumberEntryConfig): string {
  switch (e.kind) {
    case 'exact':
      return e.tn;
    case 'range':
      return `${e.from}-${e.to}`;
    case 'prefix':
      return `${e.prefix}*`;
  }
}
