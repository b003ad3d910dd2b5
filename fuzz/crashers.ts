import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FuzzTargetName } from './fuzz-target.js';
import { repoRoot } from './seeds.js';

/**
 * Kept crashers: test/fixtures/fuzz-crashers/<target>/<kind>-<sha256 prefix>.dat, byte for byte, and a
 * `.txt` beside it with what happened. The ordinary test run replays every one (test/unit/fuzz/). The
 * `.dat` files directly in the folder are the parser's older hand-made inputs, replayed as `sip-parser`
 * and `tcp-framing` inputs.
 */
export const CRASHERS_DIR = 'test/fixtures/fuzz-crashers';

export type CrashKind = 'crash' | 'hang';

export function writeCrasher(
  target: FuzzTargetName,
  kind: CrashKind,
  input: Uint8Array,
  note: string,
  root = repoRoot(),
): string {
  const dir = join(root, CRASHERS_DIR, target);
  mkdirSync(dir, { recursive: true });
  const name = `${kind}-${createHash('sha256').update(input).digest('hex').slice(0, 12)}`;
  writeFileSync(join(dir, `${name}.dat`), input);
  writeFileSync(join(dir, `${name}.txt`), `${note}\n`);
  return join(CRASHERS_DIR, target, `${name}.dat`);
}

/** Every kept input of `target`: its own folder, plus the shared parser inputs for the SIP targets. */
export function crashersOf(target: FuzzTargetName, root = repoRoot()): { file: string; input: Buffer }[] {
  const base = join(root, CRASHERS_DIR);
  const read = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).filter((f) => f.endsWith('.dat'));
    } catch {
      return [];
    }
    return names.sort().map((f) => ({ file: join(dir, f), input: readFileSync(join(dir, f)) }));
  };
  const shared = target === 'sip-parser' || target === 'tcp-framing' ? read(base) : [];
  return [...shared, ...read(join(base, target))];
}
