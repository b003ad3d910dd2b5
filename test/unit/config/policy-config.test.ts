import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import { BASE, problemsOf } from './support.js';

const withCustomerExtras = (extras: string, policy = '') =>
  `${BASE.replace('    numbers: ["12025550100"]\n', `    numbers: ["12025550100"]\n${extras}`)}${policy}`;

describe('policy configuration', () => {
  it('defaults: low limits for new customers, the usual emergency codes, no classes, no DNO file', () => {
    const c = parseConfig(BASE, 'test.yaml');
    expect(c.policy).toEqual({
      defaultLimits: { cps: 5, burst: 10, maxConcurrent: 20 },
      destinationClasses: {},
      emergencyNumbers: ['911', '112', '999', '933'],
      markHeader: 'Stirgate-Mark',
      redress: {},
    });
    expect(c.customers[0]?.limits).toBeUndefined();
    expect(c.customers[0]?.destinations).toEqual({ allow: [], deny: [], classes: [] });
  });

  it('reads customer limits, destinations, classes, DNO file, mark header and redress', () => {
    const c = parseConfig(
      withCustomerExtras(
        `    limits: { cps: 10, burst: 20, max_concurrent: 30 }
    destinations: { allow: ["1*", "+44*"], deny: ["1900*"], classes: [high_risk] }
`,
        `policy:
  destination_classes:
    high_risk: ["1900*", "+1976*"]
    premium: []
  dno_file: dno.txt
  emergency_numbers: ["911", 112]
  mark_header: X-Mark
  redress: { url: "https://example.net/redress", tel: "+18005550100", email: "redress@example.net" }
`,
      ),
      'test.yaml',
    );
    expect(c.customers[0]?.limits).toEqual({ cps: 10, burst: 20, maxConcurrent: 30 });
    expect(c.customers[0]?.destinations).toEqual({
      allow: ['1', '44'],
      deny: ['1900'],
      classes: ['high_risk'],
    });
    expect(c.policy.destinationClasses).toEqual({ high_risk: ['1900', '1976'], premium: [] });
    expect(c.policy.dnoFile).toBe('dno.txt');
    expect(c.policy.emergencyNumbers).toEqual(['911', '112']);
    expect(c.policy.markHeader).toBe('X-Mark');
    expect(c.policy.redress).toEqual({
      url: 'https://example.net/redress',
      tel: '+18005550100',
      email: 'redress@example.net',
    });
  });

  it('an unknown class, a bad prefix, bad limits: each refused with its path', () => {
    const problems = problemsOf(
      withCustomerExtras(
        `    limits: { cps: 0, burst: 1 }
    destinations: { allow: ["1202"], deny: ["19x*"], classes: [nope] }
`,
        `policy:
  destination_classes:
    high_risk: ["abc*"]
    "bad name!": ["1*"]
`,
      ),
    );
    expect(problems.map((p) => [p.path, p.code])).toEqual(
      expect.arrayContaining([
        ['customers[0].limits.cps', 'out_of_range'],
        ['customers[0].limits.max_concurrent', 'required'],
        ['customers[0].destinations.allow[0]', 'invalid_value'],
        ['customers[0].destinations.deny[0]', 'invalid_value'],
        ['policy.destination_classes.high_risk[0]', 'invalid_value'],
        ['policy.destination_classes.bad name!', 'invalid_value'],
      ]),
    );
  });

  it('a class no policy.destination_classes defines is an undefined reference at its path', () => {
    const problems = problemsOf(
      withCustomerExtras(
        '    destinations: { classes: [high_risk, nope] }\n',
        'policy:\n  destination_classes: { high_risk: ["1900*"] }\n',
      ),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      path: 'customers[0].destinations.classes[1]',
      code: 'undefined_reference',
    });
    expect(problems[0]?.message).toContain('high_risk');
  });

  it('refuses redress values that would break the Reason header, and bad header names', () => {
    const problems = problemsOf(
      `${BASE}policy:
  mark_header: "Bad Header"
  redress: { url: "https://example.net/a;b", tel: "800 555", email: 'a"b@example.net' }
  emergency_numbers: []
`,
    );
    expect(problems.map((p) => p.path).sort()).toEqual([
      'policy.emergency_numbers',
      'policy.mark_header',
      'policy.redress.email',
      'policy.redress.tel',
      'policy.redress.url',
    ]);
  });
});
