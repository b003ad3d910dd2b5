import { describe, expect, it } from 'vitest';
import { type AdmissionInput, decideAdmission } from '../../../src/policy/admission.js';
import { compileBlockIndex, EMPTY_BLOCK_INDEX } from '../../../src/policy/block-index.js';
import type { Block } from '../../../src/policy/controls.js';
import { compileDestinationPolicy } from '../../../src/policy/destinations.js';
import { compileDno } from '../../../src/policy/dno.js';
import { compileEmergencyNumbers } from '../../../src/policy/emergency.js';

const reject: Block = {
  id: 'b-1',
  match: { kind: 'calling', value: '12025550100' },
  action: 'reject',
  reason: 'robocalls',
  ticket: 'T-1',
  expires: null,
  actor: 'noc',
  created: 1,
};
const mark: Block = { ...reject, id: 'b-2', match: { kind: 'customer', value: 'acme' }, action: 'mark' };

const base: AdmissionInput = {
  callingTn: '12025550100',
  calledTn: '13035550100',
  countryCode: '1',
  keys: { calling: '12025550100', called: '13035550100', customer: 'acme', trunk: 't1' },
  emergency: compileEmergencyNumbers(['911']),
  blocks: compileBlockIndex({ version: 1, blocks: [reject, mark], limitOverrides: {} }),
  dno: compileDno(['12025550100', '1800*']),
  destinations: compileDestinationPolicy({ allow: [], deny: ['1303'], classes: [] }, {}),
  nowMs: 0,
};

describe('decideAdmission: the rules in order', () => {
  it('row 1: an emergency call passes a block, the DNO list and the destinations', () => {
    expect(decideAdmission({ ...base, calledTn: '911', keys: { ...base.keys, called: '911' } })).toEqual({
      action: 'emergency',
    });
  });

  it('row 2: a reject block before the DNO list', () => {
    expect(decideAdmission(base)).toEqual({ action: 'refuse', refusal: { cause: 'block', block: reject } });
  });

  it('row 3: the DNO list before the destinations', () => {
    const noBlocks = { ...base, blocks: EMPTY_BLOCK_INDEX };
    expect(decideAdmission(noBlocks)).toEqual({
      action: 'refuse',
      refusal: { cause: 'dno', entry: '12025550100' },
    });
  });

  it('row 4: destinations', () => {
    const input = { ...base, blocks: EMPTY_BLOCK_INDEX, callingTn: '12025550199' };
    expect(decideAdmission(input)).toEqual({
      action: 'refuse',
      refusal: { cause: 'destination', detail: '1303*' },
    });
  });

  it('row 5: admitted, with the mark block that matched', () => {
    const input = { ...base, callingTn: '12025550199', calledTn: '12125550100', keys: { customer: 'acme' } };
    expect(decideAdmission(input)).toEqual({ action: 'admit', mark });
    expect(decideAdmission({ ...input, keys: { customer: 'other' } })).toEqual({
      action: 'admit',
      mark: undefined,
    });
  });

  it('rules that are not given do not apply (terminating trunks: blocks only)', () => {
    const { dno: _d, destinations: _t, ...rest } = base;
    expect(decideAdmission({ ...rest, blocks: EMPTY_BLOCK_INDEX })).toEqual({
      action: 'admit',
      mark: undefined,
    });
  });
});
