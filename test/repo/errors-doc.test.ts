import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { VERIFY_CODES, VERIFY_OUTCOMES } from '../../src/stir/codes.js';

const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** Rows of the markdown table whose first cell is a `code`. */
function row(code: string): string[] | undefined {
  const line = doc.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
  return line?.split('|').map((c) => c.trim());
}

describe('docs/errors.md', () => {
  it('lists every VerifyCode with the status, Reason and verstat of the one table', () => {
    for (const code of VERIFY_CODES) {
      const cells = row(code);
      expect(cells, `docs/errors.md has no row for ${code}`).toBeDefined();
      const o = VERIFY_OUTCOMES[code];
      expect(cells![2]).toBe(String(o.status));
      expect(cells![3]).toBe(
        o.reasonCause === null ? '—' : `\`STIR;cause=${o.reasonCause};text="${o.text}"\``,
      );
      expect(cells![4]).toBe(`\`${o.verstat}\``);
    }
  });

  it('lists every SipParseErrorCode', async () => {
    const src = await readFile(new URL('../../src/sip/message/errors.ts', import.meta.url), 'utf8');
    const codes = [...src.matchAll(/\|\s*'([a-z_]+)'/g)].map((m) => m[1]!);
    expect(codes.length).toBeGreaterThan(10);
    for (const code of codes) expect(row(code), `docs/errors.md has no row for ${code}`).toBeDefined();
  });
});
