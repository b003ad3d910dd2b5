import type { FieldInfo, Schema } from './combinators.js';
import { configSchema } from './schema.js';

/** One row of the key table in docs/config.md, generated from the schema so the two cannot drift. */
export interface ConfigKeyDoc {
  /** YAML path; `[]` marks list items, e.g. `trunks[].match.sources`. */
  readonly path: string;
  readonly type: string;
  /** `required`, `(none)` for an optional key, `(below)` for a mapping of defaulted keys, else YAML text. */
  readonly default: string;
  readonly meaning: string;
}

export function describeConfig(): ConfigKeyDoc[] {
  const rows: ConfigKeyDoc[] = [];
  walk(configSchema, '', rows);
  return rows;
}

/** Markdown table of `describeConfig()`. */
export function renderConfigTable(rows: readonly ConfigKeyDoc[] = describeConfig()): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = ['| Path | Type | Default | Meaning |', '| --- | --- | --- | --- |'];
  for (const r of rows) {
    const def =
      r.default === 'required' || r.default === '(none)' || r.default === '(below)'
        ? r.default
        : `\`${r.default}\``;
    lines.push(`| \`${r.path}\` | ${cell(r.type)} | ${cell(def)} | ${cell(r.meaning)} |`);
  }
  return lines.join('\n');
}

function walk(schema: Schema<unknown>, prefix: string, rows: ConfigKeyDoc[]): void {
  const shape = schema.shape;
  if (shape.kind === 'object') {
    for (const f of shape.fields) addField(f, prefix, rows, '');
  } else if (shape.kind === 'array') {
    walk(shape.item, `${prefix}[]`, rows);
  } else if (shape.kind === 'union') {
    const seen = new Set<string>();
    const all = shape.variants.map(([name]) => name);
    for (const [, variant] of shape.variants) {
      for (const f of variant.fields) {
        if (seen.has(f.key)) continue;
        seen.add(f.key);
        const owners = shape.variants.filter(([, v]) => v.hasKey(f.yamlKey)).map(([n]) => n);
        if (f.key === shape.tag) {
          const meaning =
            shape.variants
              .map(([, v]) => v.fields.find((x) => x.key === f.key)?.meaning ?? '')
              .find((m) => m !== '') ?? '';
          rows.push({ path: join(prefix, f.yamlKey), type: all.join(' | '), default: 'required', meaning });
          continue;
        }
        const note = owners.length === all.length ? '' : ` Only when ${shape.tag} is ${owners.join(' or ')}.`;
        addField(f, prefix, rows, note);
      }
    }
  }
}

function addField(f: FieldInfo, prefix: string, rows: ConfigKeyDoc[], note: string): void {
  const path = join(prefix, f.yamlKey);
  let def: string;
  if (f.mode === 'required') def = 'required';
  else if (f.mode === 'optional') def = '(none)';
  else if (isEmptyMapping(f.defaultValue)) def = '(below)';
  else def = yamlText(f.defaultValue);
  rows.push({ path, type: f.schema.type, default: def, meaning: f.meaning + note });
  walk(f.schema, path, rows);
}

function join(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}

function isEmptyMapping(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

/** Compact YAML flow text of a default value. */
function yamlText(v: unknown): string {
  if (typeof v === 'string')
    return v === '' || /[:#{}[\],*&!|>'"%@`]|^\s|\s$/.test(v) ? JSON.stringify(v) : v;
  if (Array.isArray(v)) return `[${v.map(yamlText).join(', ')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{ ${Object.entries(v)
      .map(([k, x]) => `${k}: ${yamlText(x)}`)
      .join(', ')} }`;
  }
  return String(v);
}
