/**
 * The fuzz command's kept crashers (test/fixtures/fuzz-crashers, written by `npm run fuzz`) replayed through
 * their targets, a short bounded round of every target, and the harness itself: a round reports a crash
 * and shrinks it, crashers are written and read back byte for byte.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crashersOf, writeCrasher } from '../../../fuzz/crashers.js';
import { fuzzRound } from '../../../fuzz/fuzz-round.js';
import type { FuzzTarget } from '../../../fuzz/fuzz-target.js';
import { TARGET_NAMES, TARGETS } from '../../../fuzz/targets.js';

describe('kept fuzz crashers replay without a crash', () => {
  for (const name of TARGET_NAMES) {
    const kept = crashersOf(name);
    // A target with nothing kept has nothing to replay (its short round below still runs).
    if (kept.length === 0) continue;
    it(`${name}: ${kept.length} kept input(s)`, () => {
      for (const { file, input } of kept) {
        const t0 = performance.now();
        expect(() => TARGETS[name].run(input), file).not.toThrow();
        // The campaign's hang bound is 2 s per input; a replayed one must stay far under it.
        expect(performance.now() - t0, file).toBeLessThan(1000);
      }
    });
  }

  it('the SIP targets replay the shared parser inputs', () => {
    expect(crashersOf('sip-parser').length).toBeGreaterThanOrEqual(10);
    expect(crashersOf('tcp-framing').length).toBeGreaterThanOrEqual(10);
  });
});

describe('every target survives a short round (fixed seed, bounded)', () => {
  for (const name of TARGET_NAMES) {
    it(name, () => {
      const r = fuzzRound(TARGETS[name], 300, 20261207);
      expect(r.crash?.error).toBeUndefined();
      expect(r.runs).toBeGreaterThan(10);
    });
  }
});

describe('the harness', () => {
  const fragile: FuzzTarget = {
    name: 'sip-parser',
    about: 'throws a TypeError on any input holding the byte 0x41',
    inputs: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    run(input) {
      if (input.includes(0x41)) throw new TypeError('found an A');
    },
  };

  it('a round reports an undeclared exception as a crash, shrunk to a small input', () => {
    const r = fuzzRound(fragile, 5000, 1);
    expect(r.crash?.error).toMatch(/^TypeError: found an A/);
    expect(r.crash?.input.includes(0x41)).toBe(true);
    expect(r.crash?.input.length).toBeLessThanOrEqual(2);
  });

  it('a crasher is written by content and read back byte for byte, with its note', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stirgate-crashers-'));
    try {
      const input = Uint8Array.from([0, 0xff, 0x0d, 0x0a]);
      const file = writeCrasher('admin-json', 'hang', input, 'one input ran over 2000 ms', root);
      expect(file).toMatch(/^test\/fixtures\/fuzz-crashers\/admin-json\/hang-[0-9a-f]{12}\.dat$/);
      expect(crashersOf('admin-json', root).map((c) => [...c.input])).toEqual([[0, 0xff, 0x0d, 0x0a]]);
      expect(await readFile(join(root, file.replace(/\.dat$/, '.txt')), 'utf8')).toBe(
        'one input ran over 2000 ms\n',
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
