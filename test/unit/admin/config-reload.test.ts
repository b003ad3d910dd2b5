/** `POST /v1/config/reload` against an injected reload: applied and audited, or 422 with every problem. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { matchPath } from '../../../src/admin/router.js';
import { startAdminService } from '../../../src/app/admin-service.js';
import { Closers } from '../../../src/app/closers.js';
import { customerSources } from '../../../src/app/control-service.js';
import { parseConfig } from '../../../src/config/index.js';
import { ControlPlane, type ReloadOutcome } from '../../../src/control/control-plane.js';
import { createLogger } from '../../../src/log/logger.js';
import { inProcessStore } from '../control/control-fixtures.js';
import { tmpDir } from '../traceback/traceback-fixtures.js';

const closers = new Closers();
afterEach(() => closers.closeAll());

async function adminWith(outcome: ReloadOutcome) {
  const t = tmpDir();
  closers.add(async () => t.cleanup());
  const config = parseConfig(
    `data_dir: ${t.dir}\nmetrics: { listen: "" }\nadmin: { listen: "127.0.0.1:0" }\n`,
    'test',
    {
      version: 'test',
    },
  );
  const store = inProcessStore(t.file);
  const logger = createLogger({ level: 'silent' });
  const plane = await ControlPlane.start({ store, config: () => config, logger });
  closers.add(async () => {
    plane.close();
    await store.close();
  });
  let reloads = 0;
  const url = await startAdminService(
    config,
    {
      control: {
        plane,
        customers: customerSources(
          () => config,
          () => [],
        ),
        reload: async () => {
          reloads++;
          return outcome;
        },
      },
    },
    closers,
    logger,
  );
  const token = (await readFile(join(t.dir, 'admin-token'), 'utf8')).trim().split(':')[1]!;
  const post = async () => {
    const res = await fetch(`${url}/v1/config/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { post, store, reloads: () => reloads };
}

describe('POST /v1/config/reload', () => {
  it('an applied reload: 200 with what changed, and a config.reload audit entry by the token', async () => {
    const a = await adminWith({ ok: true, changed: ['routes', 'customers'], restartRequired: ['listen'] });
    expect(await a.post()).toEqual({
      status: 200,
      body: { reloaded: true, changed: ['routes', 'customers'], restart_required: ['listen'] },
    });
    expect(a.reloads()).toBe(1);
    expect(a.store.db.audit({ since: 0, limit: 10 })).toMatchObject([
      {
        action: 'config.reload',
        actor: 'admin',
        object: 'config',
        after: { changed: ['routes', 'customers'] },
      },
    ]);
  });

  it('a file that does not validate: 422 config_invalid with every problem, nothing audited', async () => {
    const problems = [
      { path: 'routes[0].next_hops', message: 'required', line: 12 },
      { path: 'trunks[1].route', message: 'no route "x"' },
    ];
    const a = await adminWith({ ok: false, problems });
    const r = await a.post();
    expect(r.status).toBe(422);
    expect(r.body).toEqual({
      error: { code: 'config_invalid', message: expect.stringContaining('2 problems'), problems },
    });
    expect(a.store.db.audit({ since: 0, limit: 10 })).toEqual([]);
  });
});

describe('route paths with parameters', () => {
  it.each([
    ['/v1/blocks/{id}', '/v1/blocks/b-3', { id: 'b-3' }],
    ['/v1/customers/{name}/limits', '/v1/customers/acme%20west/limits', { name: 'acme west' }],
    ['/v1/blocks', '/v1/blocks', {}],
    ['/v1/blocks/{id}', '/v1/blocks/', undefined],
    ['/v1/blocks/{id}', '/v1/blocks/b-3/x', undefined],
    ['/v1/customers/{name}/limits', '/v1/customers/acme/other', undefined],
    ['/v1/blocks/{id}', '/v1/blocks/%E0%A4%A', undefined],
  ])('%s against %s', (pattern, path, want) => {
    expect(matchPath(pattern, path)).toEqual(want);
  });
});
