import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  checkConfigFile,
  DEFAULT_CONFIG_YAML,
  loadConfig,
  missingOrigids,
  parseConfig,
  withOrigids,
} from '../../../src/config/index.js';
import { BASE, problemsOf } from './support.js';

const EXAMPLE = join(import.meta.dirname, '../../../docs/examples/stirgate.example.yaml');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stirgate-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('embedded default', () => {
  it('loads when no file is given and matches the documented setup', async () => {
    const c = await loadConfig({ version: '9.8.7' });
    expect(c.listen).toEqual([
      { transport: 'udp', address: '127.0.0.1', port: 5060 },
      { transport: 'tcp', address: '127.0.0.1', port: 5060 },
    ]);
    expect(c.trunks).toEqual([
      {
        name: 'local',
        role: 'originating',
        match: { sources: ['127.0.0.1/32'] },
        route: 'default',
        countryCode: '1',
        headers: {},
        gateway: false,
        identityIn: 'replace',
      },
    ]);
    expect(c.routes).toEqual([
      {
        name: 'default',
        nextHops: [{ address: '127.0.0.1', port: 5080, transport: 'udp' }],
        failoverOn: [503, 408],
      },
    ]);
    expect(c.customers).toEqual([
      {
        name: 'demo',
        trunks: ['local'],
        numbers: [{ kind: 'prefix', prefix: '1202555' }],
        destinations: { allow: [], deny: [], classes: [] },
      },
    ]);
    expect(c.stir.signing).toBeUndefined(); // dev PKI
    expect(c.stir.devPki).toEqual({ x5uListen: { address: '127.0.0.1', port: 8081 }, spc: '1234' });
    expect(c.sip).toEqual({
      timers: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000, timerCS: 185 },
      limits: {
        maxMessageBytes: 65536,
        maxHeaders: 256,
        maxLineLength: 8192,
        tcpMaxConnections: 10000,
        tcpMaxConnectionsPerSource: 100,
        tcpIdleTimeoutS: 300,
        tcpMessageTimeoutMs: 5000,
        tcpConnectTimeoutMs: 3000,
      },
      maxForwards: 70,
      userAgent: 'Stirgate/9.8.7',
      callLimits: { maxCalls: 100000 },
      sessionTimers: { enabled: true, sessionExpiresS: 1800, minSeS: 90 },
      maxCallDurationS: 14400,
    });
    expect(c.stir.verification).toEqual({
      maxAgeS: 60,
      maxFutureSkewS: 5,
      x5u: {
        allowHttp: false,
        allowedPorts: [443, 8443],
        allowCidrs: [],
        denyCidrs: [],
        allowUserinfoQuery: false,
        maxBodyBytes: 16384,
        timeoutMs: 2000,
      },
      cache: { maxEntries: 1000, minTtlS: 60, maxTtlS: 86400, defaultTtlS: 3600, negativeTtlS: 30 },
      replay: { store: 'memory', maxEntries: 100000, clusterCheck: 'broadcast' },
      signatureCheck: 'event_loop',
    });
    expect(c.unmatchedSource).toEqual({ action: 'reject', status: 403 });
    expect(c.dataDir).toBe('.stirgate');
    expect(c.metrics.listen).toEqual({ address: '127.0.0.1', port: 9464 });
    expect(c.log.level).toBe('info');
  });

  it('origid: missing until main fills it; withOrigids returns a new frozen config', async () => {
    const c = await loadConfig({});
    expect(missingOrigids(c)).toEqual(['demo']);
    const id = 'A1B2C3D4-0000-4000-8000-000000000001';
    const filled = withOrigids(c, { demo: id });
    expect(filled.customers[0]?.origid).toBe(id.toLowerCase());
    expect(missingOrigids(filled)).toEqual([]);
    expect(c.customers[0]?.origid).toBeUndefined();
    expect(Object.isFrozen(filled.customers[0])).toBe(true);
    expect(filled.trunks).toBe(c.trunks);
    expect(() => withOrigids(c, { nobody: id })).toThrow(/customer "nobody" is not defined/);
    expect(() => withOrigids(c, { demo: 'not-a-uuid' })).toThrow(ConfigError);
  });

  it('an origid given in the file is not reported missing', () => {
    const c = parseConfig(
      DEFAULT_CONFIG_YAML.replace(
        'numbers: ["1202555*"]',
        'numbers: ["1202555*"]\n    origid: 6f0e6cc6-3c7a-4b0f-9d0e-6a4c3f2b1a90',
      ),
      't',
    );
    expect(missingOrigids(c)).toEqual([]);
  });

  it('user_agent may be empty to omit the header; {version} defaults to dev', () => {
    expect(parseConfig('sip: { user_agent: "" }', 't').sip.userAgent).toBe('');
    expect(parseConfig('', 't').sip.userAgent).toBe('Stirgate/dev');
  });
});

describe('environment overrides', () => {
  it('override log level, listen, data dir and metrics', async () => {
    const c = await loadConfig({
      env: {
        STIRGATE_LOG_LEVEL: 'debug',
        STIRGATE_LISTEN: 'udp:127.0.0.1:0, [::1]:5062',
        STIRGATE_DATA_DIR: '/tmp/sg',
        STIRGATE_METRICS_LISTEN: 'off',
      },
    });
    expect(c.log.level).toBe('debug');
    expect(c.listen).toEqual([
      { transport: 'udp', address: '127.0.0.1', port: 0 },
      { transport: 'udp', address: '::1', port: 5062 },
      { transport: 'tcp', address: '::1', port: 5062 },
    ]);
    expect(c.dataDir).toBe('/tmp/sg');
    expect(c.metrics.listen).toBeUndefined();
  });

  it('unset or empty variables change nothing; unrelated variables are ignored', async () => {
    const c = await loadConfig({ env: { STIRGATE_LOG_LEVEL: '', STIRGATE_LOG: 'trace', PATH: '/bin' } });
    expect(c.log.level).toBe('info');
  });

  it('an override creates missing parents and replaces file values', () => {
    const c = parseConfig('log: { level: warn }', 't', {
      env: { STIRGATE_LOG_LEVEL: 'error', STIRGATE_METRICS_LISTEN: '127.0.0.1:0' },
    });
    expect(c.log.level).toBe('error');
    expect(c.metrics.listen).toEqual({ address: '127.0.0.1', port: 0 });
  });

  it('bad override values are reported with the variable name', async () => {
    const err = await loadConfig({
      env: { STIRGATE_LOG_LEVEL: 'loud', STIRGATE_LISTEN: 'udp:127.0.0.1:5060,sctp:1.2.3.4:5' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'STIRGATE_LISTEN[1]: "sctp:1.2.3.4:5" is not [udp:|tcp:]HOST:PORT',
      'log.level: "loud" is not one of fatal, error, warn, info, debug, trace, silent (from STIRGATE_LOG_LEVEL)',
    ]);
    expect(problems.every((p) => p.line === undefined)).toBe(true);
  });

  it('checkConfigFile ignores the environment', async () => {
    const file = join(dir, 'env.yaml');
    await writeFile(file, 'log: { level: warn }\n');
    process.env['STIRGATE_LOG_LEVEL'] = 'loud';
    try {
      const r = await checkConfigFile(file);
      expect(r.ok && r.config.log.level).toBe('warn');
    } finally {
      delete process.env['STIRGATE_LOG_LEVEL'];
    }
  });
});

describe('files', () => {
  it('checkConfigFile: ok for a valid file, every problem for a bad one', async () => {
    const good = join(dir, 'good.yaml');
    const bad = join(dir, 'bad.yaml');
    await writeFile(good, BASE);
    await writeFile(bad, `${BASE}metrics: { listen: nowhere }\nlog: { level: chatty }\n`);
    expect(await checkConfigFile(good)).toMatchObject({ ok: true });
    const r = await checkConfigFile(bad);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems.map((p) => [p.path, p.line])).toEqual([
        ['metrics.listen', 24],
        ['log.level', 25],
      ]);
    }
  });

  it('loadConfig reads the file and names it in messages', async () => {
    const file = join(dir, 'named.yaml');
    await writeFile(file, 'log: { levle: info }\n');
    const err = await loadConfig({ file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(
      `log.levle: unknown key (did you mean "level"?) (${file}:1:8)`,
    );
  });

  it('a missing file is read_failed, not a crash', async () => {
    const file = join(dir, 'absent.yaml');
    const err = await loadConfig({ file }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'read_failed' });
    expect(await checkConfigFile(file)).toEqual({
      ok: false,
      problems: [{ path: '(file)', code: 'read_failed', message: 'cannot read: ENOENT' }],
    });
  });

  it('docs/examples/stirgate.example.yaml parses: a signing trunk and a verifying trunk', async () => {
    const r = await checkConfigFile(EXAMPLE);
    if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    const c = r.config;
    const roles = c.trunks.map((t) => t.role);
    expect(roles).toContain('originating');
    expect(roles).toContain('terminating');
    const partner = c.trunks.find((t) => t.name === 'partner-in');
    expect(partner?.role === 'terminating' && partner.verification.attestationHeader).toBe(
      'P-Attestation-Indicator',
    );
    expect(c.stir.signing?.x5uUrl).toMatch(/^https:\/\//);
    expect(missingOrigids(c)).toEqual(['intl']);
  });

  it('problemsOf helper fails on a valid config (guards the tests above)', () => {
    expect(() => problemsOf(BASE)).toThrow('expected the configuration to be refused');
  });
});
