// The built binary serves the web console: dist/ holds the page's files (package.json `build` copies them; the
// tsc output alone does not), read at start and served byte for byte as in src/admin/console/assets/.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BinaryProcess, ensureBuilt, ROOT, spawnBinary } from '../support/binary.js';
import { freePort } from '../support/ports.js';

const ASSETS = join(ROOT, 'src', 'admin', 'console', 'assets');

describe('the built binary serves the web console', () => {
  let dir: string;
  let bin: BinaryProcess;
  let admin: string;

  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'stirgate-console-bin-'));
    const file = join(dir, 'stirgate.yaml');
    const adminPort = await freePort('tcp');
    await writeFile(
      file,
      `listen:\n  - { transport: udp, address: 127.0.0.1, port: ${await freePort('udp')} }\n` +
        `metrics: { listen: "" }\nadmin: { listen: "127.0.0.1:${adminPort}" }\ndata_dir: ${dir}\n`,
    );
    bin = spawnBinary(['--config', file], { cwd: dir });
    await bin.waitFor('stirgate listening', 20_000);
    admin = `http://127.0.0.1:${adminPort}`;
  }, 180_000);

  afterAll(async () => {
    bin?.child.kill('SIGTERM');
    await bin?.exited;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('every file of src/admin/console/assets, unchanged, without a token', async () => {
    const names = await readdir(ASSETS);
    expect(names).toContain('index.html');
    for (const name of names) {
      const r = await fetch(name === 'index.html' ? `${admin}/console` : `${admin}/console/${name}`);
      expect(r.status, name).toBe(200);
      expect(r.headers.get('content-security-policy'), name).toMatch(/^default-src 'self'/);
      expect(Buffer.from(await r.arrayBuffer()).equals(await readFile(join(ASSETS, name))), name).toBe(true);
    }
  });

  it('the API beside it still wants the token', async () => {
    expect((await fetch(`${admin}/v1/traceback?call_id=x`)).status).toBe(401);
  });
});
