import { readdir, readFile } from 'node:fs/promises';
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

  it('lists every error class with the codes of its union, and every class extends StirgateError', async () => {
    const src = new URL('../../src/', import.meta.url);
    const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts'));
    const classes: { name: string; file: string; codes: string[] }[] = [];
    const direct: string[] = [];
    for (const file of files) {
      const text = await readFile(new URL(file, src), 'utf8');
      for (const m of text.matchAll(/class (\w+) extends Error\b/g))
        if (m[1] !== 'StirgateError') direct.push(`${file}: ${m[1]}`);
      for (const m of text.matchAll(/class (\w+) extends StirgateError<([^>]+)>/g)) {
        const param = m[2]!.trim();
        const union = /^'/.test(param)
          ? param
          : (new RegExp(`type ${param} =([^;]+);`).exec(text)?.[1] ?? '');
        const codes = [...union.matchAll(/'([a-z0-9_]+)'/g)].map((c) => c[1]!);
        classes.push({ name: m[1]!, file: `src/${file}`, codes });
      }
    }
    expect(direct, 'error classes that do not extend StirgateError').toEqual([]);
    expect(classes.length).toBeGreaterThanOrEqual(9);
    for (const c of classes) {
      const cells = row(c.name);
      expect(cells, `docs/errors.md has no row for ${c.name}`).toBeDefined();
      expect(cells![2]).toBe(c.file);
      expect(c.codes.length, `${c.name}: no codes found in its union`).toBeGreaterThan(0);
      // SipParseError's codes have their own table, checked above.
      if (c.name === 'SipParseError') continue;
      for (const code of c.codes) expect(cells![3], `${c.name} row lacks ${code}`).toContain(`\`${code}\``);
    }
  });
});
