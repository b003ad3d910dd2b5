import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/index.js';
import { BASE, problemsOf } from './support.js';

describe('parseConfig: valid input', () => {
  it('parses the base config with role-specific defaults', () => {
    const c = parseConfig(BASE, 'base.yaml');
    expect(c.trunks.map((t) => [t.name, t.role])).toEqual([
      ['cust-a', 'originating'],
      ['carrier-in', 'terminating'],
      ['peer', 'passthrough'],
    ]);
    const [orig, term, pass] = c.trunks;
    expect(orig).toMatchObject({ gateway: false, identityIn: 'replace', countryCode: '1', headers: {} });
    expect(term?.role === 'terminating' && term.verification).toEqual({
      onFailure: 'mark',
      requireIdentity: false,
      attestationHeader: 'X-Attestation',
    });
    expect(pass).not.toHaveProperty('verification');
    expect(pass).not.toHaveProperty('gateway');
    expect(c.routes[0]).toEqual({
      name: 'core',
      nextHops: [{ address: '203.0.113.10', port: 5060, transport: 'udp' }],
      failoverOn: [503, 408],
    });
    expect(c.customers[0]?.numbers).toEqual([{ kind: 'exact', tn: '12025550100' }]);
  });

  it('an empty document takes every schema default (no trunks)', () => {
    const c = parseConfig('', 'empty.yaml');
    expect(c.trunks).toEqual([]);
    expect(c.listen).toHaveLength(2);
    expect(c.unmatchedSource).toEqual({ action: 'reject', status: 403 });
  });

  it('reads number entries: exact, +exact, unquoted integer, range, prefix', () => {
    const c = parseConfig(
      BASE.replace(
        'numbers: ["12025550100"]',
        'numbers: [12025550101, "+12025550102", "12025550100-12025550199", "1202555*"]',
      ),
      't',
    );
    expect(c.customers[0]?.numbers).toEqual([
      { kind: 'exact', tn: '12025550101' },
      { kind: 'exact', tn: '12025550102' },
      { kind: 'range', from: '12025550100', to: '12025550199' },
      { kind: 'prefix', prefix: '1202555' },
    ]);
  });

  it('lower-cases header names and origids; accepts an unquoted country code', () => {
    const yaml = BASE.replace(
      '    route: core\n  - name: carrier-in',
      '    route: core\n    country_code: 44\n    headers: { deny: [X-Internal, P-Charge-Info] }\n  - name: carrier-in',
    ).replace('numbers: ["12025550100"]', 'numbers: []\n    origid: 3F2504E0-4F89-11D3-9A0C-0305E82C3301');
    const c = parseConfig(yaml, 't');
    expect(c.trunks[0]).toMatchObject({
      countryCode: '44',
      headers: { deny: ['x-internal', 'p-charge-info'] },
    });
    expect(c.customers[0]?.origid).toBe('3f2504e0-4f89-11d3-9a0c-0305e82c3301');
  });

  it('accepts YAML merge keys for shared trunk settings', () => {
    const yaml = `
routes: [{ name: r, next_hops: [{ address: 10.0.0.1 }] }]
trunks:
  - &base { name: a, role: passthrough, match: { sources: [10.0.0.1] }, route: r, country_code: "44" }
  - { <<: *base, name: b, match: { sources: [10.0.0.2] } }
`;
    const c = parseConfig(yaml, 't');
    expect(c.trunks[1]).toMatchObject({ name: 'b', countryCode: '44', route: 'r' });
  });

  it('freezes the whole tree: writes throw in strict mode', () => {
    const c = parseConfig(BASE, 't');
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c.log as { level: string }).level = 'debug';
    }).toThrow(TypeError);
    expect(() => {
      (c.trunks as unknown[]).push({});
    }).toThrow(TypeError);
    expect(() => {
      (c.trunks[0]?.match.sources as string[])[0] = '0.0.0.0/0';
    }).toThrow(TypeError);
    expect(() => {
      (c.stir.verification.x5u.allowedPorts as number[]).length = 0;
    }).toThrow(TypeError);
  });
});

describe('parseConfig: problems carry the key path', () => {
  it.each([
    ['top level', 'lisen: []', 'lisen', 'did you mean "listen"'],
    ['depth 2', 'sip: { max_forward: 10 }', 'sip.max_forward', 'did you mean "max_forwards"'],
    ['depth 3', 'sip: { timers: { t3_ms: 1 } }', 'sip.timers.t3_ms', 'unknown key'],
    [
      'depth 5',
      'stir: { verification: { x5u: { allow_https: true } } }',
      'stir.verification.x5u.allow_https',
      'unknown key',
    ],
    ['camelCase spelling', 'sip: { maxForwards: 10 }', 'sip.maxForwards', 'did you mean "max_forwards"'],
  ])('unknown key at %s', (_label, yaml, path, text) => {
    const [p, ...rest] = problemsOf(yaml);
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ path, code: 'unknown_key' });
    expect(p?.message).toContain(text);
  });

  it('unknown key inside a list item', () => {
    const problems = problemsOf(
      BASE.replace(
        'next_hops: [{ address: 203.0.113.10 }]',
        'next_hops: [{ address: 203.0.113.10, weight: 5 }]',
      ),
    );
    expect(problems.map((p) => p.path)).toEqual(['routes[0].next_hops[0].weight']);
  });

  it.each([
    ['sip: { timers: { t1_ms: "500" } }', 'sip.timers.t1_ms', 'expected integer, got string "500"'],
    ['sip: { max_forwards: 1.5 }', 'sip.max_forwards', 'expected integer, got number 1.5'],
    ['listen: { transport: udp }', 'listen', 'expected a list, got a mapping'],
    ['sip: []', 'sip', 'expected a mapping, got a list'],
    [
      'stir: { verification: { x5u: { allow_http: "yes" } } }',
      'stir.verification.x5u.allow_http',
      'expected boolean',
    ],
    ['log: { level: 3 }', 'log.level', 'expected one of fatal'],
    ['[1, 2]', '(root)', 'expected a mapping'],
  ])('wrong type: %s', (yaml, path, text) => {
    const problems = problemsOf(yaml);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path, code: 'wrong_type' });
    expect(problems[0]?.message).toContain(text);
  });

  it('bad CIDR and host bits name the list index', () => {
    const problems = problemsOf(
      BASE.replace(
        'sources: [192.0.2.0/24]',
        'sources: [192.0.2.0/24, 10.0.0.0/33, 10.0.0.1/8, "2001:db8::1/129", bogus]',
      ),
    );
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'trunks[0].match.sources[1]: "10.0.0.0/33" is not a valid CIDR',
      'trunks[0].match.sources[2]: "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)',
      'trunks[0].match.sources[3]: "2001:db8::1/129" is not a valid CIDR',
      'trunks[0].match.sources[4]: "bogus" is not a valid CIDR',
    ]);
  });

  it('ranges: ports, listen port 0 allowed, next hop port 0 refused', () => {
    expect(
      parseConfig('listen: [{ transport: udp, address: 127.0.0.1, port: 0 }]', 't').listen[0]?.port,
    ).toBe(0);
    const problems = problemsOf(
      BASE.replace('{ address: 203.0.113.10 }', '{ address: 203.0.113.10, port: 0 }').replace(
        '5070',
        '70000',
      ) + 'listen: [{ transport: udp, address: 127.0.0.1, port: -1 }]\n',
    );
    expect(problems.map((p) => [p.path, p.code])).toEqual([
      ['routes[0].next_hops[0].port', 'out_of_range'],
      ['routes[1].next_hops[0].port', 'out_of_range'],
      ['listen[0].port', 'out_of_range'],
    ]);
    expect(problems[1]?.message).toBe('must be between 1 and 65535, got 70000');
  });

  it('undefined route and trunk references', () => {
    const problems = problemsOf(
      BASE.replace('route: pbx', 'route: pbx2').replace('trunks: [cust-a]', 'trunks: [cust-a, cust-b]'),
    );
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'trunks[1].route: route "pbx2" is not defined (defined: core, pbx)',
      'customers[0].trunks[1]: trunk "cust-b" is not defined (defined: cust-a, carrier-in, peer)',
    ]);
  });

  it('a customer trunk must be originating', () => {
    const problems = problemsOf(BASE.replace('trunks: [cust-a]', 'trunks: [cust-a, carrier-in]'));
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'customers[0].trunks[1]',
        code: 'wrong_role',
        message: expect.stringContaining('is terminating'),
      }),
    ]);
  });

  it('duplicate names, duplicate list entries, a trunk owned by two customers', () => {
    const yaml =
      BASE.replace('  - name: pbx', '  - name: core').replace('route: pbx', 'route: core') +
      '  - name: acme\n    trunks: [cust-a]\n  - name: other\n    trunks: [peer, peer]\n';
    const problems = problemsOf(yaml);
    expect(problems.map((p) => [p.path, p.code])).toEqual([
      ['routes[1].name', 'duplicate'],
      ['customers[1].name', 'duplicate'],
      ['customers[1].trunks[0]', 'duplicate'],
      ['customers[2].trunks[0]', 'wrong_role'],
      ['customers[2].trunks[1]', 'duplicate'],
      ['customers[2].trunks[1]', 'wrong_role'],
    ]);
    expect(problems[0]?.message).toBe('duplicate route name "core" (first defined at routes[0].name)');
    expect(problems[2]?.message).toBe(
      'trunk "cust-a" already belongs to another customer (customers[0].trunks[0])',
    );
    expect(problems[4]?.message).toBe('duplicate entry (same as customers[2].trunks[0])');
  });

  it('role-specific keys on the wrong role', () => {
    const yaml = BASE.replace(
      'route: core\n  - name: carrier-in',
      'route: core\n    verification: { on_failure: reject }\n  - name: carrier-in',
    )
      .replace('route: pbx', 'route: pbx\n    gateway: true\n    identity_in: keep')
      .replace('route: core\nroutes', 'route: core\n    verification: {}\nroutes');
    const problems = problemsOf(yaml);
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'trunks[0].verification: only allowed when role is terminating (this one is originating)',
      'trunks[1].gateway: only allowed when role is originating (this one is terminating)',
      'trunks[1].identity_in: only allowed when role is originating (this one is terminating)',
      'trunks[2].verification: only allowed when role is terminating (this one is passthrough)',
    ]);
    expect(problems.every((p) => p.code === 'wrong_role')).toBe(true);
  });

  it('a bad role is reported and the rest of the trunk is still checked', () => {
    const problems = problemsOf(
      BASE.replace('role: originating', 'role: originate').replace('192.0.2.0/24', '192.0.2.0/99'),
    );
    expect(problems.map((p) => p.path)).toEqual(['trunks[0].role', 'trunks[0].match.sources[0]']);
    expect(problems[0]?.message).toBe('"originate" is not one of originating, terminating, passthrough');
  });

  it('conflicting and incomplete combinations', () => {
    const yaml =
      BASE.replace(
        'route: core\n  - name: carrier-in',
        'route: core\n    headers: { allow: [Foo], deny: [Bar] }\n  - name: carrier-in',
      ) +
      `unmatched_source: { action: passthrough }
sip: { timers: { t1_ms: 5000, t2_ms: 4000 } }
stir:
  signing: { private_key_file: key.pem }
  verification: { cache: { min_ttl_s: 100, default_ttl_s: 50 } }
`;
    const problems = problemsOf(yaml);
    expect(problems.map((p) => [p.path, p.code])).toEqual([
      ['trunks[0].headers.deny', 'conflict'],
      ['unmatched_source.route', 'required'],
      ['sip.timers.t2_ms', 'conflict'],
      ['stir.signing.certificate_file', 'required'],
      ['stir.signing.x5u_url', 'required'],
      ['stir.verification.cache.default_ttl_s', 'conflict'],
    ]);
  });

  it('signing: all three keys parse; a non-https URL is refused', () => {
    const ok = parseConfig(
      'stir: { signing: { private_key_file: k.pem, certificate_file: c.pem, x5u_url: "https://cr.example.com/sp.pem" } }',
      't',
    );
    expect(ok.stir.signing).toEqual({
      privateKeyFile: 'k.pem',
      certificateFile: 'c.pem',
      x5uUrl: 'https://cr.example.com/sp.pem',
    });
    const problems = problemsOf(
      'stir: { signing: { private_key_file: k.pem, certificate_file: c.pem, x5u_url: "ftp://x/y" } }',
    );
    expect(problems.map((p) => p.path)).toEqual(['stir.signing.x5u_url']);
  });

  it('number entries: bad shapes are refused with the index', () => {
    const problems = problemsOf(
      BASE.replace(
        'numbers: ["12025550100"]',
        'numbers: ["1202555019-12025550100", "12025550199-12025550100", "*", "1234567890123456", "12 02"]',
      ),
    );
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'customers[0].numbers[0]: range "1202555019-12025550100": both ends must have the same number of digits',
      'customers[0].numbers[1]: range "12025550199-12025550100": start is after end',
      expect.stringMatching(/^customers\[0\]\.numbers\[2\]: "\*" is not an E\.164 number/),
      expect.stringMatching(/^customers\[0\]\.numbers\[3\]: "1234567890123456" is not/),
      expect.stringMatching(/^customers\[0\]\.numbers\[4\]: "12 02" is not/),
    ]);
  });

  it('reports many problems at once, in document order, with line and column', () => {
    const yaml = [
      'listen:', //                                          1
      '  - { transport: sctp, address: 127.0.0.1 }', //     2
      'trunks:', //                                          3
      '  - name: a', //                                      4
      '    role: originating', //                            5
      '    match:', //                                       6
      '      sources: [10.0.0.0/33]', //                     7
      '    route: nowhere', //                               8
      'metrics: { listen: "localhost:9464" }', //            9
      'log: { level: loud }', //                            10
    ].join('\n');
    let err: unknown;
    try {
      parseConfig(yaml, 'multi.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.code).toBe('invalid_config');
    expect(e.problems.map((p) => [p.path, p.line])).toEqual([
      ['listen[0].transport', 2],
      ['trunks[0].match.sources[0]', 7],
      ['trunks[0].route', 8],
      ['metrics.listen', 9],
      ['log.level', 10],
    ]);
    const lines = e.message.split('\n');
    expect(lines[0]).toBe('invalid configuration multi.yaml (5 problems):');
    expect(lines[2]).toBe('trunks[0].match.sources[0]: "10.0.0.0/33" is not a valid CIDR (multi.yaml:7:17)');
    expect(lines.slice(1).map((l) => l.split(':')[0])).toEqual(e.problems.map((p) => p.path));
  });
});

describe('parseConfig: YAML syntax', () => {
  it.each([
    ['a: 1\nb: [1, 2\nc: 3\n', 3],
    ['log:\n  level: info\n  level: debug\n', 3],
    ['trunks:\n  - name: a\n   role: x\n', 3],
    ['sip: { timers: }\n\tlog: 1\n', 2],
    ['log: {}\n---\nlog: {}\n', 2],
  ])('%j: reported with its line', (yaml, line) => {
    const problems = problemsOf(yaml);
    expect(problems[0]).toMatchObject({ path: '(yaml)', code: 'yaml_syntax', line });
  });

  it('an unresolved alias is a YAML problem, not a crash', () => {
    expect(problemsOf('log: *nothing\n')[0]).toMatchObject({ code: 'yaml_syntax' });
  });
});
