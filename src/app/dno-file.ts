import { readFile } from 'node:fs/promises';
import { ConfigError, type ConfigProblem } from '../config/index.js';
import { parseDnoList } from '../policy/dno.js';

/**
 * Read `policy.dno_file` (at start and on each reload, never on a call): its entries, or a ConfigError
 * whose problems have the key's path, so a missing or bad file is reported like a bad configuration value
 * (each bad line with its number).
 */
export async function loadDnoFile(file: string | undefined): Promise<readonly string[]> {
  if (file === undefined) return [];
  const path = 'policy.dno_file';
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new ConfigError(
      'invalid_config',
      file,
      [{ path, code: 'invalid_value', message: `${JSON.stringify(file)} ${why}` }],
      {
        cause: err,
      },
    );
  }
  const list = parseDnoList(text);
  if (list.problems.length > 0) {
    const problems: ConfigProblem[] = list.problems.map((p) => ({
      path,
      code: 'invalid_value',
      message: `line ${p.line}: ${p.message}`,
      line: p.line,
    }));
    throw new ConfigError('invalid_config', file, problems);
  }
  return list.entries;
}
