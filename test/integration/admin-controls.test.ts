/**
 * The operator controls through the admin API of a real element (ADMIN-API.md): blocks, customers and their
 * limits, the audit log, bad input refused with nothing changed, and everything still there after a restart
 * on the same data_dir (traceback records off: the controls do not depend on them).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stirgate, startStirgate } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';

let dataDir: string;
let app: Stirgate;
let token: string;

function yaml(dir: string): string {
  return `
listen: [{ transport: udp, address: 127.0.0.1, port: 0 }]
trunks:
  - { name: pbx, match: { sources: [127.0.0.2/32] }, role: originating, route: next }
  - { name: pbx2, match: { sources: [127.0.0.3/32] }, role: originating, route: next }
routes:
  - { name: next, next_hops: [{ address: 127.0.0.1, port: 5999, transport: udp }] }
customers:
  - { name: acme, trunks: [pbx], numbers: ["1202555*"], limits: { cps: 10, burst: 20, max_concurrent: 50 } }
  - { name: beta, trunks: [pbx2], numbers: ["1303555*"] }
stir: { dev_pki: { x5u_listen: "127.0.0.1:0" } }
data_dir: ${dir}
metrics: { listen: "" }
admin: { listen: "127.0.0.1:0" }
traceback: { enabled: false }
`;
}

async function start(): Promise<Stirgate> {
  const config = parseConfig(yaml(dataDir), 'test', { version: 'test' });
  return startStirgate(config, createLogger({ level: 'silent' }));
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'stirgate-admin-'));
  app = await start();
  token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim().split(':')[1]!;
});
afterAll(async () => {
  await app?.close();
  await rm(dataDir, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
  readonly body: any;
}

async function api(method: string, path: string, body?: unknown, auth?: string): Promise<Answer> {
  const res = await fetch(app.adminUrl + path, {
    method,
    headers: {
      authorization: auth ?? `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json() };
}

const auditCount = async () => (await api('GET', '/v1/audit?limit=1000')).body.entries.length as number;

const good = {
  match: { calling: '+1 (202) 555-0123' },
  action: 'reject',
  reason: 'robocall campaign',
  ticket: 'NOC-17',
};

describe('blocks', () => {
  it('POST adds one (201, canonical number with its +), the call path reads it at once, GET lists it', async () => {
    const v = app.controls.current.version;
    const r = await api('POST', '/v1/blocks', { ...good, expires: '2099-01-01T00:00:00+01:00' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      id: 'b-1',
      match: { calling: '+12025550123' },
      action: 'reject',
      reason: 'robocall campaign',
      ticket: 'NOC-17',
      expires: '2098-12-31T23:00:00.000Z',
      actor: 'admin',
      removed: null,
    });
    expect(Date.parse(r.body.created)).toBeGreaterThan(Date.now() - 60_000);
    expect(app.controls.current.version).toBe(v + 1);
    expect(app.controls.current.blocks.map((b) => b.match)).toEqual([
      { kind: 'calling', value: '12025550123' },
    ]);
    expect((await api('GET', '/v1/blocks')).body).toEqual({ blocks: [r.body] });
  });

  it('DELETE undoes it (200, removed filled), again is 409, an unknown id 404; ?all=true keeps it', async () => {
    const added = await api('POST', '/v1/blocks', { ...good, match: { customer: 'beta' }, action: 'mark' });
    const r = await api('DELETE', `/v1/blocks/${added.body.id}`, { reason: 'a school, not a robocaller' });
    expect(r.status).toBe(200);
    expect(r.body.removed).toMatchObject({ actor: 'admin', reason: 'a school, not a robocaller' });
    expect(app.controls.current.blocks.some((b) => b.id === added.body.id)).toBe(false);
    expect((await api('DELETE', `/v1/blocks/${added.body.id}`)).body.error.code).toBe(
      'block_already_removed',
    );
    expect((await api('DELETE', `/v1/blocks/${added.body.id}`)).status).toBe(409);
    expect(await api('DELETE', '/v1/blocks/b-999')).toMatchObject({
      status: 404,
      body: { error: { code: 'block_not_found' } },
    });
    const active = (await api('GET', '/v1/blocks')).body.blocks.map((b: { id: string }) => b.id);
    const all = (await api('GET', '/v1/blocks?all=true')).body.blocks.map((b: { id: string }) => b.id);
    expect(active).not.toContain(added.body.id);
    expect(all).toContain(added.body.id);
  });
});

describe('bad input: the error form, and nothing changed', () => {
  const cases: readonly [string, string, string, unknown, string | undefined, number, string, string?][] = [
    [
      'an unknown field',
      'POST',
      '/v1/blocks',
      { ...good, extra: 1 },
      undefined,
      400,
      'unknown_field',
      'extra',
    ],
    ['not JSON', 'POST', '/v1/blocks', '{"match":', undefined, 400, 'invalid_json'],
    [
      'an invalid number',
      'POST',
      '/v1/blocks',
      { ...good, match: { calling: 'x' } },
      undefined,
      422,
      'invalid_number',
      'match.calling',
    ],
    [
      'an unknown customer',
      'POST',
      '/v1/blocks',
      { ...good, match: { customer: 'zeta' } },
      undefined,
      422,
      'unknown_customer',
      'match.customer',
    ],
    [
      'an unknown trunk',
      'POST',
      '/v1/blocks',
      { ...good, match: { trunk: 'zeta' } },
      undefined,
      422,
      'unknown_trunk',
      'match.trunk',
    ],
    [
      'an expiry in the past',
      'POST',
      '/v1/blocks',
      { ...good, expires: '2020-01-01T00:00:00Z' },
      undefined,
      422,
      'expires_in_past',
      'expires',
    ],
    ['a malformed Authorization header', 'POST', '/v1/blocks', good, 'Bearer', 401, 'unauthorized'],
    ['a wrong token', 'POST', '/v1/blocks', good, 'Bearer nope', 401, 'unauthorized'],
    [
      'limits of an unknown customer',
      'PATCH',
      '/v1/customers/zeta/limits',
      { cps: 1 },
      undefined,
      404,
      'customer_not_found',
    ],
    [
      'a limit of zero',
      'PATCH',
      '/v1/customers/acme/limits',
      { cps: 0 },
      undefined,
      422,
      'invalid_limit',
      'cps',
    ],
    [
      'an unknown audit parameter',
      'GET',
      '/v1/audit?from=x',
      undefined,
      undefined,
      400,
      'unknown_parameter',
      'from',
    ],
  ];
  it.each(cases)('%s', async (_, method, path, body, auth, status, code, field) => {
    const before = await auditCount();
    const version = app.controls.current.version;
    const r = await api(method, path, body, auth);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(r.body.error.path).toBe(field);
    expect(typeof r.body.error.message).toBe('string');
    expect(await auditCount()).toBe(before);
    expect(app.controls.current.version).toBe(version);
  });
});

describe('customers and limits', () => {
  it('lists every configured customer with its configured limits (its own, or the defaults)', async () => {
    const r = await api('GET', '/v1/customers');
    expect(r.status).toBe(200);
    const [acme, beta] = r.body.customers;
    expect(acme).toMatchObject({
      name: 'acme',
      limits: { cps: 10, burst: 20, max_concurrent: 50 },
      configured_limits: { cps: 10, burst: 20, max_concurrent: 50 },
      overrides: null,
      live: { cps: 0, concurrent: 0 },
      refusals: {},
    });
    expect(acme.origid).toMatch(/^[0-9a-f-]{36}$/);
    const defaults = app.config.policy.defaultLimits;
    expect(beta.configured_limits).toEqual({
      cps: defaults.cps,
      burst: defaults.burst,
      max_concurrent: defaults.maxConcurrent,
    });
  });

  it('PATCH sets an override over the configured limits, published to the call path and audited', async () => {
    const r = await api('PATCH', '/v1/customers/acme/limits', { cps: 2, reason: 'new customer, start low' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      name: 'acme',
      limits: { cps: 2, burst: 20, max_concurrent: 50 },
      configured_limits: { cps: 10 },
      overrides: { cps: 2 },
    });
    expect(app.controls.current.limitOverrides).toEqual({ acme: { cps: 2 } });
    expect((await api('GET', '/v1/customers/acme')).body.overrides).toEqual({ cps: 2 });
    const last = (await api('GET', '/v1/audit?limit=1000')).body.entries.at(-1);
    expect(last).toMatchObject({
      action: 'limits.set',
      object: 'customer:acme',
      actor: 'admin',
      before: null,
      after: { cps: 2 },
      reason: 'new customer, start low',
    });
  });
});

describe('audit', () => {
  it('every change in order, with time, actor, object, before and after; since and limit apply', async () => {
    const all = (await api('GET', '/v1/audit')).body.entries;
    expect(all.map((e: { action: string }) => e.action)).toEqual([
      'block.add',
      'block.add',
      'block.remove',
      'limits.set',
    ]);
    expect(all[2]).toMatchObject({
      object: 'block:b-2',
      actor: 'admin',
      after: { removed: { actor: 'admin' } },
    });
    const since = (await api('GET', `/v1/audit?since=${encodeURIComponent(all[3].time)}&limit=1`)).body
      .entries;
    expect(since.map((e: { id: number }) => e.id)).toEqual([all[3].id]);
  });
});

describe('restart', () => {
  it('blocks, overrides and the audit log survive a restart on the same data_dir', async () => {
    const blocks = (await api('GET', '/v1/blocks?all=true')).body;
    const audit = (await api('GET', '/v1/audit')).body;
    await app.close();
    app = await start();
    expect((await api('GET', '/v1/blocks?all=true')).body).toEqual(blocks);
    expect((await api('GET', '/v1/audit')).body).toEqual(audit);
    expect(app.controls.current.blocks.map((b) => b.id)).toEqual(['b-1']);
    expect(app.controls.current.limitOverrides).toEqual({ acme: { cps: 2 } });
    expect((await api('POST', '/v1/blocks', good)).body.id).toBe('b-3');
  });
});
