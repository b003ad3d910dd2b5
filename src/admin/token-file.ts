/**
 * The admin API's bearer tokens (ADMIN-API.md "Listener and authentication"): one `name:token` per line in
 * `admin.token_file`; the name is the actor the audit log records. At first start the file is created with
 * one random token, mode 0600, never overwritten. Read at start-up, off the SIP path.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StirgateError } from '../errors.js';

export interface AdminToken {
  readonly name: string;
  readonly token: string;
}

export type TokenFileErrorCode = 'token_file_unreadable' | 'token_file_invalid';

export class TokenFileError extends StirgateError<TokenFileErrorCode> {}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
/** 32 random bytes, base64url: 256 bits. Shorter tokens in the file are refused below 16 characters. */
const MIN_TOKEN_CHARS = 16;

/** The tokens of `file`, creating it (`admin:<random>`, mode 0600) when it does not exist. */
export async function loadOrCreateTokenFile(
  file: string,
): Promise<{ tokens: AdminToken[]; created: boolean; mode: number }> {
  let created = false;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    // `wx`: never overwrite a file an operator wrote; mode 0600 applies at creation (the umask only narrows it).
    await writeFile(file, `admin:${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new TokenFileError(
        'token_file_unreadable',
        `admin.token_file: cannot create ${file}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  let text: string;
  let mode: number;
  try {
    text = await readFile(file, 'utf8');
    mode = (await stat(file)).mode & 0o777;
  } catch (err) {
    throw new TokenFileError(
      'token_file_unreadable',
      `admin.token_file: cannot read ${file}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { tokens: parseTokenFile(text, file), created, mode };
}

/** `name:token` lines; blank lines and `#` comments are skipped. Any other line is an error naming its number. */
export function parseTokenFile(text: string, file: string): AdminToken[] {
  const tokens: AdminToken[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon);
    const token = colon < 0 ? '' : line.slice(colon + 1);
    if (!NAME.test(name) || token.length < MIN_TOKEN_CHARS || /\s/.test(token)) {
      throw new TokenFileError(
        'token_file_invalid',
        `admin.token_file: ${file} line ${i + 1}: expected name:token (name [A-Za-z0-9_.@-], token at least ${MIN_TOKEN_CHARS} characters without white space)`,
      );
    }
    tokens.push({ name, token });
  }
  if (tokens.length === 0)
    throw new TokenFileError('token_file_invalid', `admin.token_file: ${file} has no token`);
  return tokens;
}
