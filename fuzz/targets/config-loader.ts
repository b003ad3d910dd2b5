import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError, DEFAULT_CONFIG_YAML, describeConfig, parseConfig } from '../../src/config/index.js';
import { type FuzzTarget, invariant } from '../fuzz-target.js';
import { mutationsOf, utf8 } from '../mutate.js';
import { filesIn } from '../seeds.js';

/** A leaf value of any YAML type, biased to the shapes the schema checks (ports, CIDRs, names, numbers). */
const leaf = fc.oneof(
  fc.integer({ min: -2, max: 70_000 }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('127.0.0.1:5060', '10.0.0.0/33', 'udp', 'tcp', 'core', 'A', '', '::1', '0', '1e309'),
  fc.string({ maxLength: 12 }),
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 3 }),
);

/** Put `value` at a describeConfig path (`a.b[].c`), creating mappings and one-item lists on the way. */
function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  let at: Record<string, unknown> = root;
  const parts = path.split('.');
  parts.forEach((raw, i) => {
    const list = raw.endsWith('[]');
    const key = list ? raw.slice(0, -2) : raw;
    const last = i === parts.length - 1;
    if (last && !list) {
      at[key] = value;
      return;
    }
    if (list) {
      const arr = Array.isArray(at[key]) ? (at[key] as unknown[]) : [];
      at[key] = arr;
      if (last) {
        arr.push(value);
        return;
      }
      if (typeof arr[0] !== 'object' || arr[0] === null) arr[0] = {};
      at = arr[0] as Record<string, unknown>;
    } else {
      if (typeof at[key] !== 'object' || at[key] === null || Array.isArray(at[key])) at[key] = {};
      at = at[key] as Record<string, unknown>;
    }
  });
}

/** Documents made of real keys (the schema's own list) with values of any type: the validator's deep paths. */
const schemaDocuments = fc
  .array(fc.tuple(fc.constantFrom(...describeConfig().map((d) => d.path)), leaf), { maxLength: 12 })
  .map((entries) => {
    const doc: Record<string, unknown> = {};
    for (const [path, value] of entries) setPath(doc, path, value);
    return stringify(doc);
  });

function frozenDeep(v: unknown, depth = 0): boolean {
  if (typeof v !== 'object' || v === null || depth > 8) return true;
  if (!Object.isFrozen(v)) return false;
  return Object.values(v).every((x) => frozenDeep(x, depth + 1));
}

/**
 * The configuration loader (YAML -> validated, frozen Config). Declared error: ConfigError, with at least
 * one problem, each with a path. Invariant: a configuration that loads is frozen all the way down.
 */
export const configLoader: FuzzTarget = {
  name: 'config-loader',
  about: 'parseConfig on YAML text (mutated real files, schema-keyed documents); ConfigError',
  inputs: fc.oneof(
    mutationsOf(
      [new Uint8Array(Buffer.from(DEFAULT_CONFIG_YAML)), ...filesIn('docs/examples', '.yaml')],
      [0x3a, 0x2d, 0x20, 0x0a, 0x23, 0x5b, 0x5d, 0x7b, 0x7d, 0x26, 0x2a, 0x21, 0x7c, 0x3e, 0x22, 0x27, 0x09],
    ),
    utf8(schemaDocuments),
  ),
  run(input) {
    let config: ReturnType<typeof parseConfig>;
    try {
      config = parseConfig(input.toString('utf8'), 'fuzz.yaml');
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      invariant(e.problems.length > 0, 'ConfigError without a problem');
      invariant(
        e.problems.every((p) => typeof p.path === 'string' && p.path.length > 0),
        'a problem without a path',
      );
      return;
    }
    invariant(frozenDeep(config), 'a loaded configuration is not frozen all the way down');
  },
};
