import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDnoFile } from '../../../src/app/dno-file.js';
import { ConfigError } from '../../../src/config/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stirgate-dno-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function problemsOf(file: string) {
  const err = await loadDnoFile(file).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).problems;
}

describe('loadDnoFile', () => {
  it('no file configured: no entries', async () => {
    expect(await loadDnoFile(undefined)).toEqual([]);
  });

  it('reads the entries', async () => {
    const file = join(dir, 'ok.txt');
    await writeFile(file, '# inbound only\n+18005550100\n1888*\n');
    expect(await loadDnoFile(file)).toEqual(['18005550100', '1888*']);
  });

  it('a file that does not exist is a problem at policy.dno_file', async () => {
    const problems = await problemsOf(join(dir, 'missing.txt'));
    expect(problems).toEqual([
      { path: 'policy.dno_file', code: 'invalid_value', message: expect.stringContaining('does not exist') },
    ]);
  });

  it('every bad line is a problem with its line number', async () => {
    const file = join(dir, 'bad.txt');
    await writeFile(file, '18005550100\nabc\n\n1*2\n');
    const problems = await problemsOf(file);
    expect(problems.map((p) => [p.path, p.line])).toEqual([
      ['policy.dno_file', 2],
      ['policy.dno_file', 4],
    ]);
  });
});
