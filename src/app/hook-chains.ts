import { type AdmissionCustomer, AdmissionHook } from '../b2bua/admission-hook.js';
import { BlockHook } from '../b2bua/block-hook.js';
import type { HookChains, InviteHook } from '../b2bua/invite-hooks.js';
import { liveBlockIndex } from '../b2bua/live-block-index.js';
import { type CustomerRuntime, SigningHook } from '../b2bua/signing-hook.js';
import { VerificationHook } from '../b2bua/verification-hook.js';
import type { Config, CustomerConfig, NumberEntryConfig } from '../config/index.js';
import type { AdmissionCounters } from '../policy/admission-counters.js';
import { compileNumberSet } from '../policy/attestation.js';
import type { Controls, LiveValue } from '../policy/controls.js';
import { compileDestinationPolicy } from '../policy/destinations.js';
import { compileDno } from '../policy/dno.js';
import { compileEmergencyNumbers } from '../policy/emergency.js';
import type { Signer } from '../stir/signer.js';
import type { Verifier } from '../stir/verifier.js';

/** What the operator controls add to the chains besides the configuration. */
export interface PolicyInputs {
  /** Blocks and limit overrides, as the control plane sets them. */
  readonly controls: LiveValue<Controls>;
  readonly counters: AdmissionCounters;
  /** Entries of `policy.dno_file` (src/app/dno-file.ts), read before the chains are built. */
  readonly dno: readonly string[];
}

/**
 * The ordered hook chain of each trunk role (docs/architecture.md, "The hook chain"):
 * - originating: admission (emergency, blocks, do-not-originate, destinations, limits) -> sign;
 * - terminating: block (calling, called, trunk) -> verify -> block-spc (the verified signer's SPC);
 * - passthrough: block (calling, called, trunk).
 * Everything per configuration is compiled here, once; what the operators change at run time follows
 * `policy.controls`.
 */
export function buildHookChains(
  config: Config,
  signer: Signer | undefined,
  verifier: Verifier | undefined,
  policy: PolicyInputs,
): HookChains {
  const customers = new Map<string, CustomerRuntime>(
    config.customers.map((c) => [c.name, customerRuntime(c)]),
  );
  const p = config.policy;
  const blocks = liveBlockIndex(policy.controls);
  const emergency = compileEmergencyNumbers(p.emergencyNumbers);
  const admission = new AdmissionHook({
    customers: new Map(config.customers.map((c) => [c.name, admissionCustomer(c, config)])),
    defaultLimits: p.defaultLimits,
    emergency,
    dno: compileDno(policy.dno),
    markHeader: p.markHeader,
    blocks,
    controls: policy.controls,
    counters: policy.counters,
  });
  const blockOptions = { blocks, emergency, markHeader: p.markHeader, redress: p.redress };
  const originating: InviteHook[] = [admission];
  if (signer !== undefined) originating.push(new SigningHook({ signer, customers }));
  const terminating: InviteHook[] = [new BlockHook({ stage: 'numbers', ...blockOptions })];
  if (verifier !== undefined) {
    terminating.push(new VerificationHook({ verifier }));
    terminating.push(new BlockHook({ stage: 'signer', ...blockOptions }));
  }
  // Passthrough trunks sign and verify nothing, but a block on their numbers or name still applies.
  const passthrough: InviteHook[] = [new BlockHook({ stage: 'numbers', ...blockOptions })];
  return { originating, terminating, passthrough };
}

function customerRuntime(c: CustomerConfig): CustomerRuntime {
  return { name: c.name, origid: c.origid ?? '', numbers: compileNumberSet(c.numbers.map(numberEntry)) };
}

function admissionCustomer(c: CustomerConfig, config: Config): AdmissionCustomer {
  return {
    name: c.name,
    origid: c.origid,
    limits: c.limits,
    destinations: compileDestinationPolicy(c.destinations, config.policy.destinationClasses),
  };
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
