import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../../src/node-flags.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFile(new URL(path, root), 'utf8');

describe('every launch of Stirgate uses NODE_FLAGS (src/node-flags.ts)', () => {
  const flags = NODE_FLAGS.join(' ');

  it('npm start and npm run demo', async () => {
    const pkg = JSON.parse(await read('package.json')) as { scripts: Record<string, string> };
    for (const script of ['start', 'demo']) {
      expect(pkg.scripts[script], script).toContain(`node ${flags} dist/src/main.js`);
    }
  });

  it('the stirgate bin (shebang of src/main.ts, kept by tsc)', async () => {
    const first = (await read('src/main.ts')).split('\n', 1)[0];
    expect(first).toBe(`#!/usr/bin/env -S node ${flags}`);
  });

  it('the Dockerfile entrypoint', async () => {
    const entry = (await read('Dockerfile')).split('\n').find((l) => l.startsWith('ENTRYPOINT'));
    const argv = JSON.parse(entry!.slice('ENTRYPOINT'.length)) as string[];
    expect(argv).toEqual(['node', ...NODE_FLAGS, '/app/dist/src/main.js']);
  });

  it('the load bench starts Stirgate with them', async () => {
    expect(await read('bench/load/elements.ts')).toMatch(/\[\s*\.\.\.NODE_FLAGS,/);
  });
});
