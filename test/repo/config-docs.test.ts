import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_CONFIG_YAML,
  describeConfig,
  parseConfig,
  renderConfigTable,
} from '../../src/config/index.js';

/**
 * docs/config.md embeds three generated blocks between markers: the key table (from the schema), the embedded
 * default, and a real error message. They must match the code. To refresh them after a schema change:
 *   STIRGATE_UPDATE_DOCS=1 npx vitest run test/repo/config-docs.test.ts
 */
const DOC = join(import.meta.dirname, '../../docs/config.md');

/** A config with several mistakes; its real error message is shown in docs/config.md. */
const BAD_EXAMPLE = `trunks:
  - name: acme
    role: originating
    match: { sources: [10.0.0.0/33], transport: UDP }
    route: core
    verification: { on_failure: reject }
routes:
  - name: carrier
    next_hops: [{ address: 203.0.113.10, port: 5060 }]
    failover_on: ["503"]
customers:
  - name: acme
    trunks: [acme, partner]
    numbers: ["12025550199-12025550100"]
stir:
  verification:
    max_age: 60
`;

function errorText(): string {
  try {
    parseConfig(BAD_EXAMPLE, 'stirgate.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
  }
  throw new Error('BAD_EXAMPLE must be refused');
}

const blocks: Record<string, () => string> = {
  keys: () => renderConfigTable(),
  default: () => `\`\`\`yaml\n${DEFAULT_CONFIG_YAML}\`\`\``,
  'bad-example': () => `\`\`\`yaml\n${BAD_EXAMPLE}\`\`\``,
  'error-example': () => `\`\`\`text\n${errorText()}\n\`\`\``,
};

function section(doc: string, name: string): { start: number; end: number } {
  const begin = `<!-- ${name}:begin -->\n`;
  const start = doc.indexOf(begin);
  const end = doc.indexOf(`\n<!-- ${name}:end -->`);
  if (start < 0 || end < 0) throw new Error(`docs/config.md lacks the ${name} markers`);
  return { start: start + begin.length, end };
}

describe('docs/config.md', () => {
  if (process.env['STIRGATE_UPDATE_DOCS'] === '1') {
    let doc = readFileSync(DOC, 'utf8');
    for (const [name, render] of Object.entries(blocks)) {
      const { start, end } = section(doc, name);
      doc = doc.slice(0, start) + render() + doc.slice(end);
    }
    writeFileSync(DOC, doc);
  }
  const doc = readFileSync(DOC, 'utf8');

  it.each(Object.keys(blocks))('the %s block matches the code', (name) => {
    const { start, end } = section(doc, name);
    expect(doc.slice(start, end)).toBe(blocks[name]!());
  });

  it('documents every key with a meaning', () => {
    const rows = describeConfig();
    expect(rows.length).toBeGreaterThan(80);
    for (const r of rows) expect(r.meaning, r.path).not.toBe('');
  });

  it('the error example lists every problem, one per line, each starting with its path', () => {
    const lines = errorText().split('\n');
    expect(lines[0]).toMatch(/^invalid configuration stirgate\.yaml \(\d+ problems\):$/);
    const paths = lines.slice(1).map((l) => l.slice(0, l.indexOf(':')));
    expect(paths).toEqual([
      'trunks[0].match.sources[0]',
      'trunks[0].match.transport',
      'trunks[0].route',
      'trunks[0].verification',
      'routes[0].failover_on[0]',
      'customers[0].trunks[1]',
      'customers[0].numbers[0]',
      'stir.verification.max_age',
    ]);
  });
});
