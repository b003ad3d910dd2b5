import { describe, expect, it } from 'vitest';
import { compileDestinationPolicy, decideDestination } from '../../../src/policy/destinations.js';

const classes = { high_risk: ['1900', '881'], premium: ['44909'], empty: [] };

describe('decideDestination', () => {
  it('a customer deny prefix wins over everything (row 1)', () => {
    const p = compileDestinationPolicy({ allow: ['1'], deny: ['1202555'], classes: ['high_risk'] }, classes);
    expect(decideDestination('12025550100', p)).toEqual({ ok: false, detail: '1202555*' });
  });

  it('a class is denied unless the customer lists it (row 2)', () => {
    const none = compileDestinationPolicy({ allow: [], deny: [], classes: [] }, classes);
    expect(decideDestination('19005550100', none)).toEqual({ ok: false, detail: 'high_risk' });
    expect(decideDestination('449091234567', none)).toEqual({ ok: false, detail: 'premium' });
    const listed = compileDestinationPolicy({ allow: [], deny: [], classes: ['high_risk'] }, classes);
    expect(decideDestination('19005550100', listed)).toEqual({ ok: true });
    expect(decideDestination('449091234567', listed)).toEqual({ ok: false, detail: 'premium' });
  });

  it('a non-empty allow list admits only its prefixes (row 3), also for a non-numeric called party', () => {
    const p = compileDestinationPolicy({ allow: ['1202', '44'], deny: [], classes: ['premium'] }, classes);
    expect(decideDestination('12025550100', p)).toEqual({ ok: true });
    expect(decideDestination('442071234567', p)).toEqual({ ok: true });
    expect(decideDestination('13035550100', p)).toEqual({ ok: false, detail: 'allow_list' });
    expect(decideDestination(undefined, p)).toEqual({ ok: false, detail: 'allow_list' });
  });

  it('without lists or classes everything is allowed (row 4)', () => {
    const p = compileDestinationPolicy({ allow: [], deny: [], classes: [] }, {});
    expect(decideDestination('19005550100', p)).toEqual({ ok: true });
    expect(decideDestination(undefined, p)).toEqual({ ok: true });
  });
});
