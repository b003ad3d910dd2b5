import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type AdmissionCustomer, AdmissionHook } from '../../../src/b2bua/admission-hook.js';
import { LiveBlockIndex } from '../../../src/b2bua/live-block-index.js';
import { LocalAdmissionCounters } from '../../../src/b2bua/local-admission-counters.js';
import type { TracebackCallEvent, TracebackEvent } from '../../../src/events.js';
import type { Block, BlockAction, BlockMatchKind, Controls } from '../../../src/policy/controls.js';
import { EMPTY_CONTROLS, LiveValue } from '../../../src/policy/controls.js';
import { compileDestinationPolicy } from '../../../src/policy/destinations.js';
import { compileDno } from '../../../src/policy/dno.js';
import { compileEmergencyNumbers } from '../../../src/policy/emergency.js';

export const EMERGENCY = compileEmergencyNumbers(['911', '112', '999', '933']);

let ids = 0;
export function block(
  kind: BlockMatchKind,
  value: string,
  action: BlockAction = 'reject',
  extra: Partial<Block> = {},
): Block {
  ids++;
  return {
    id: `b-${ids}`,
    match: { kind, value },
    action,
    reason: 'robocalls "campaign"',
    ticket: 'T-9',
    expires: null,
    actor: 'noc',
    created: ids,
    ...extra,
  };
}

export function controlsWith(
  version: number,
  blocks: readonly Block[],
  limitOverrides: Controls['limitOverrides'] = {},
): Controls {
  return { version, blocks, limitOverrides };
}

/** An admission hook for customer `acme` with its own controls, counters and clock. */
export function admissionSetup(limits = { cps: 1, burst: 2, maxConcurrent: 2 }) {
  const clock = { ms: 1_000_000 };
  const controls = new LiveValue<Controls>(EMPTY_CONTROLS);
  const counters = new LocalAdmissionCounters({ now: () => clock.ms });
  const acme: AdmissionCustomer = {
    name: 'acme',
    origid: '0b5c3f5e-1f6a-4f1e-9a56-3f2a1c0d9e88',
    limits,
    destinations: compileDestinationPolicy(
      { allow: [], deny: ['1976'], classes: [] },
      { high_risk: ['1900'] },
    ),
  };
  const hook = new AdmissionHook({
    customers: new Map([['acme', acme]]),
    defaultLimits: { cps: 5, burst: 10, maxConcurrent: 20 },
    emergency: EMERGENCY,
    dno: compileDno(['18005550100', '1888*']),
    markHeader: 'Stirgate-Mark',
    blocks: new LiveBlockIndex(controls),
    controls,
    counters,
    now: () => clock.ms,
  });
  return { clock, controls, counters, hook, acme };
}

/** The traceback call records published while `fn` runs. */
export function recordTraceback(): { records: TracebackCallEvent[]; stop(): void } {
  const records: TracebackCallEvent[] = [];
  const on = (m: unknown) => {
    const e = m as TracebackEvent;
    if (e.kind === 'call') records.push(e);
  };
  subscribe('stirgate:traceback', on);
  return { records, stop: () => unsubscribe('stirgate:traceback', on) };
}
