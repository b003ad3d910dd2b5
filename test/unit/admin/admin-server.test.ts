import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminService } from '../../../src/app/admin-service.js';
import { Closers } from '../../../src/app/closers.js';
import { parseConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/log/logger.js';
import type { SqliteTracebackStore } from '../../../src/traceback/sqlite-store.js';
import {
  ended,
  ORIGID,
  signedCall,
  storeFileWith,
  T0,
  verifiedCall,
} from '../traceback/identity-lookup-fixtures.js';

const calls = [
  signedCall('k1', T0, '12025550100', '12025550199', 'a1@acme'),
  signedCall('k2', T0 + 60_000, '12025550100', '12025550188', 'a2@acme'),
  signedCall('k3', T0 + 120_000, '12025550177', '12025550199', 'a3@acme'),
];
const verified = verifiedCall('k4', T0 + 180_000, '13035550111', '12025550199', 'up@carrier', 1, 'f00d');

let store: SqliteTracebackStore;
let dir: string;
let cleanup: () => Promise<void>;
let url: string;
let token: string;
const closers = new Closers();

function configFor(dataDir: string, extra = '') {
  return parseConfig(
    `data_dir: ${dataDir}\nmetrics: { listen: "" }\nadmin: { listen: "127.0.0.1:0"${extra} }\n`,
    'test',
    {
      version: 'test',
    },
  );
}

beforeAll(async () => {
  const s = await storeFileWith([...calls, verified, ended('k1', T0 + 50_000)]);
  ({ store, dir, cleanup } = s);
  url = (await startAdminService(
    configFor(dir),
    { traceback: store },
    closers,
    createLogger({ level: 'silent' }),
  ))!;
  token = (await readFile(join(dir, 'admin-token'), 'utf8')).trim().split(':')[1]!;
});
afterAll(async () => {
  await closers.closeAll();
  await store.close();
  await cleanup();
});

interface ApiBody {
  readonly error?: { readonly code: string; readonly message: string; readonly path?: string };
  readonly records?: readonly { readonly id: string }[];
  readonly truncated?: boolean;
  readonly matchedBy?: string;
  readonly [key: string]: unknown;
}

const ids = (b: ApiBody) => b.records?.map((x) => x.id);

async function call(path: string, init: RequestInit & { auth?: string | null } = {}) {
  const { auth, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (auth !== null) headers.set('authorization', auth ?? `Bearer ${token}`);
  const res = await fetch(url + path, { ...rest, headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as ApiBody };
}

describe('admin API: listener and authentication', () => {
  it('creates the token file at first start, mode 0600, one admin:<token> line', async () => {
    const text = await readFile(join(dir, 'admin-token'), 'utf8');
    expect(text).toMatch(/^admin:[A-Za-z0-9_-]{43}\n$/);
    expect((await stat(join(dir, 'admin-token'))).mode & 0o777).toBe(0o600);
  });

  it('GET /healthz answers without a token', async () => {
    expect(await call('/healthz', { auth: null })).toMatchObject({ status: 200, body: { ok: true } });
  });

  it.each([
    ['no token', null],
    ['a wrong token', 'Bearer not-the-token-at-all'],
    ['another scheme', 'Basic YWRtaW46eA=='],
  ])('%s: 401 and nothing else said, even for a path that does not exist', async (_why, auth) => {
    for (const path of ['/v1/traceback?call_id=a1@acme', '/v1/nothing-here']) {
      const r = await call(path, { auth });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: { code: 'unauthorized', message: 'unauthorized' } });
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('with the token: 404 for an unknown resource and 405 for a wrong method, in the error form', async () => {
    expect(await call('/v1/nothing-here')).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    const r = await call('/v1/traceback', { method: 'DELETE' });
    expect([r.status, r.body.error?.code, r.headers.get('allow')]).toEqual([
      405,
      'method_not_allowed',
      'GET',
    ]);
  });

  it('reads several name:token lines and keeps an existing file as it is', async () => {
    const file = join(dir, 'operators');
    await writeFile(file, '# operators\nalice:alice-token-0123456789\n\nbob:bob-token-0123456789abc\n', {
      mode: 0o600,
    });
    const more = new Closers();
    const u = await startAdminService(
      configFor(dir, `, token_file: ${file}`),
      { traceback: store },
      more,
      createLogger({ level: 'silent' }),
    );
    try {
      for (const t of ['alice-token-0123456789', 'bob-token-0123456789abc']) {
        const res = await fetch(`${u}/v1/traceback?call_id=a1@acme`, {
          headers: { authorization: `Bearer ${t}` },
        });
        expect(res.status).toBe(200);
      }
      expect(
        (await fetch(`${u}/v1/traceback?call_id=a1@acme`, { headers: { authorization: `Bearer ${token}` } }))
          .status,
      ).toBe(401);
      expect(await readFile(file, 'utf8')).toContain('alice:');
    } finally {
      await more.closeAll();
    }
  });
});

describe('GET /v1/traceback', () => {
  const from = new Date(T0 - 1000).toISOString();
  const to = new Date(T0 + 3_600_000).toISOString();

  it('by Call-ID, either leg: the record with times as ISO 8601', async () => {
    for (const id of ['a1@acme', 'b-a1@acme']) {
      const r = await call(`/v1/traceback?call_id=${encodeURIComponent(id)}`);
      expect(r.status).toBe(200);
      expect(r.body.truncated).toBe(false);
      expect(r.body.records).toHaveLength(1);
      expect(r.body.records?.[0]).toMatchObject({
        id: 'k1',
        time: '2026-12-07T10:00:00.000Z',
        role: 'signed',
        customer: 'acme',
        trunk: 'acme-east',
        source: { address: '192.0.2.10', port: 5060, transport: 'udp' },
        callId: 'a1@acme',
        bCallId: 'b-a1@acme',
        signed: { attest: 'A', origid: ORIGID },
        end: { time: '2026-12-07T10:00:50.000Z', answered: true, status: 200 },
      });
    }
  });

  it('by origid and a window, newest first', async () => {
    const r = await call(`/v1/traceback?origid=${ORIGID}&from=${from}&to=${to}`);
    expect(ids(r.body)).toEqual(['k3', 'k2', 'k1']);
  });

  it('by calling number (any form), optionally called number, with limit and truncated', async () => {
    const byOrig = await call(
      `/v1/traceback?orig=${encodeURIComponent('+1 202 555 0100')}&from=${from}&to=${to}`,
    );
    expect(ids(byOrig.body)).toEqual(['k2', 'k1']);
    const both = await call(`/v1/traceback?orig=12025550100&dest=12025550188&from=${from}&to=${to}`);
    expect(ids(both.body)).toEqual(['k2']);
    const capped = await call(`/v1/traceback?orig=12025550100&from=${from}&to=${to}&limit=1`);
    expect([capped.body.records?.length, capped.body.truncated]).toEqual([1, true]);
  });

  it('a verified call names the upstream signer', async () => {
    const r = await call('/v1/traceback?call_id=up@carrier');
    expect(r.body.records?.[0]).toMatchObject({
      role: 'verified',
      trunk: 'upstream-carrier',
      verified: { spc: '567J', attest: 'B' },
    });
  });

  it.each([
    ['an unknown parameter', `?call_id=x&color=red`, 'unknown_parameter', 'color'],
    ['a number search without a window', '?orig=12025550100', 'window_required', 'from'],
    ['an origid search without a window', `?origid=${ORIGID}`, 'window_required', 'from'],
    ['a window over 31 days', `?orig=12025550100&from=2026-10-01&to=2026-12-01`, 'window_too_large', 'from'],
    ['a time without a zone', `?orig=12025550100&from=2026-12-07T10:00:00`, 'invalid_parameter', 'from'],
    ['to before from', `?orig=12025550100&from=${to}&to=${from}`, 'invalid_parameter', 'to'],
    ['not a number', `?orig=alice&from=${from}&to=${to}`, 'invalid_parameter', 'orig'],
    ['two kinds at once', `?call_id=x&origid=${ORIGID}`, 'conflicting_parameters', 'call_id'],
    ['dest alone', `?dest=12025550199&from=${from}`, 'missing_parameter', 'orig'],
    ['a window on a Call-ID search', `?call_id=x&from=${from}`, 'conflicting_parameters', 'from'],
    ['limit out of range', '?call_id=x&limit=5000', 'invalid_parameter', 'limit'],
    ['a parameter twice', '?call_id=x&call_id=y', 'invalid_parameter', 'call_id'],
    ['nothing to search by', '', 'missing_parameter', 'orig'],
  ])('400 for %s, with the parameter as path', async (_why, query, code, path) => {
    const r = await call(`/v1/traceback${query}`);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code, path });
    expect(typeof r.body.error?.message).toBe('string');
  });
});

describe('POST /v1/traceback/identity', () => {
  const post = (body: string, type = 'text/plain') =>
    call('/v1/traceback/identity', { method: 'POST', body, headers: { 'content-type': type } });

  it('a pasted header we signed: matched by digest, the decoded PASSporT and the record', async () => {
    const r = await post(calls[1]!.identity);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      matchedBy: 'digest',
      passport: {
        ppt: 'shaken',
        compactForm: false,
        claims: { origid: ORIGID, orig: { tn: '12025550100' } },
      },
      truncated: false,
    });
    expect(ids(r.body)).toEqual(['k2']);
  });

  it('a header on no record: 200, matched by nothing, no records', async () => {
    const other = signedCall('x', T0 + 86_400_000, '12025550100', '12025550199', 'x');
    const r = await post(`Identity: ${other.identity}\r\n`);
    expect([r.status, r.body.matchedBy, r.body.records]).toEqual([200, 'none', []]);
  });

  it('a malformed header: 422 with the decoder code, never a stack', async () => {
    const r = await post('Identity: bm90IGpzb24.e30.c2ln;ppt=shaken');
    expect(r.status).toBe(422);
    expect(r.body).toEqual({ error: { code: 'jws_bad_json', message: expect.any(String), path: 'token' } });
  });

  it('415 for a JSON body, 413 past the body cap', async () => {
    expect((await post('{}', 'application/json')).body.error?.code).toBe('unsupported_media_type');
    const big = await post('x'.repeat(70 * 1024));
    expect([big.status, big.body.error?.code]).toEqual([413, 'body_too_large']);
  });
});
