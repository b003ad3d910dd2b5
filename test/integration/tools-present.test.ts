// Integration tests skip (loudly) when a real peer is missing on a developer's machine. In CI that must not
// happen silently: .ci/run installs every tool, so under CI=true a missing one fails here.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function onPath(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.runIf(process.env.CI === 'true')('CI has the real peers the integration tests need', () => {
  for (const bin of ['sipp', 'secsipidx', 'prometheus', 'chromium']) {
    it(`${bin} is installed`, () => {
      expect(onPath(bin), `${bin} missing: .ci/run should have installed it`).toBe(true);
    });
  }
});
