import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureOrigids, ORIGIDS_FILE } from '../../../src/app/origids-file.js';
import { StartupError, startStirgate } from '../../../src/app.js';
import { type Config, parseConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/log/logger.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEPT = '0b7c5c8e-6f53-4c1c-9a43-6b0bb0b8a7d1';

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stirgate-origids-'));
  file = join(dir, ORIGIDS_FILE);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A signing element on an ephemeral port, one originating trunk per customer, none with an origid. */
function config(names: readonly string[] = ['acme']): Config {
  const trunks = names.map(
    (n, i) =>
      `  - { name: ${n}-in, role: originating, match: { sources: [127.0.1.${i + 1}/32] }, route: next }`,
  );
  const customers = names.map((n) => `  - { name: ${n}, trunks: [${n}-in], numbers: ["1202555*"] }`);
  const yaml = `
listen: [{ transport: udp, address: 127.0.0.1, port: 0 }]
trunks:
${trunks.join('\n')}
routes: [{ name: next, next_hops: [{ address: 127.0.0.1, port: 5099, transport: udp }] }]
customers:
${customers.join('\n')}
stir: { dev_pki: { x5u_listen: "127.0.0.1:0" } }
data_dir: ${JSON.stringify(dir)}
metrics: { listen: "" }
admin: { listen: "" }
`;
  return parseConfig(yaml, 'test.yaml', { version: 'test' });
}

function origidOf(c: Config, name: string): string | undefined {
  return c.customers.find((x) => x.name === name)?.origid;
}

async function refusal(text: string): Promise<StartupError> {
  await writeFile(file, text);
  const err = await ensureOrigids(config()).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StartupError);
  expect((await readFile(file, 'utf8')) === text, 'a refused file is left as it was').toBe(true);
  return err as StartupError;
}

describe('ensureOrigids', () => {
  it('creates a missing file with one UUID per customer, owner-only, and reuses it on the next start', async () => {
    const first = await ensureOrigids(config(['acme', 'globex']));
    const acme = origidOf(first, 'acme');
    expect(acme).toMatch(UUID);
    expect(origidOf(first, 'globex')).toMatch(UUID);
    expect(origidOf(first, 'globex')).not.toBe(acme);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ acme, globex: origidOf(first, 'globex') });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual([ORIGIDS_FILE]); // no temporary file left behind

    const again = await ensureOrigids(config(['acme', 'globex']));
    expect(origidOf(again, 'acme')).toBe(acme);
  });

  it('keeps the entries it has, including customers no longer configured, when it adds one', async () => {
    await writeFile(file, JSON.stringify({ acme: KEPT, gone: '7d3f0c55-9a53-4f8a-8a3e-1d1e2b9d0c11' }));
    const c = await ensureOrigids(config(['acme', 'globex']));
    expect(origidOf(c, 'acme')).toBe(KEPT);
    const onDisk = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
    expect(Object.keys(onDisk).sort()).toEqual(['acme', 'globex', 'gone']);
    expect(onDisk.globex).toBe(origidOf(c, 'globex'));
  });

  it('refuses a file that is not JSON, naming the file', async () => {
    const err = await refusal('{"acme": "0b7c5c8e-');
    expect(err.code).toBe('data_dir');
    expect(err.message).toContain(file);
    expect(err.message).toContain('is not JSON');
    expect(err.cause).toBeInstanceOf(SyntaxError);
  });

  it.each([
    ['an array', `["${KEPT}"]`, 'is not a JSON object'],
    ['null', 'null', 'is not a JSON object'],
    ['a number value', '{"acme": 42}', 'customer "acme": 42 is not a UUID'],
    ['a value that is not a UUID', '{"acme": "not-a-uuid"}', 'customer "acme": "not-a-uuid" is not a UUID'],
  ])('refuses %s, naming the file and what is wrong', async (_what, text, problem) => {
    const err = await refusal(text);
    expect(err.code).toBe('data_dir');
    expect(err.message).toContain(`${file} `);
    expect(err.message).toContain(problem);
  });

  it('makes startStirgate fail before anything listens, with the file named', async () => {
    await writeFile(file, 'garbage');
    const started = startStirgate(config(), createLogger({ level: 'silent' }));
    await expect(started).rejects.toBeInstanceOf(StartupError);
    await expect(started).rejects.toThrow(`${file} is not JSON`);
  });
});
