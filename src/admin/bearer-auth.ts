import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminToken } from './token-file.js';

/**
 * `Authorization: Bearer <token>` (RFC 6750 §2.1) against the configured tokens, in constant time: both sides
 * are hashed to 32 bytes first (so the length of a token leaks nothing) and every token is compared, a match
 * or not. Returns the matching token's name (the actor), or `undefined`.
 */
export class BearerAuth {
  readonly #tokens: readonly { readonly name: string; readonly hash: Buffer }[];

  constructor(tokens: readonly AdminToken[]) {
    this.#tokens = tokens.map((t) => ({ name: t.name, hash: sha256(t.token) }));
  }

  actorOf(authorization: string | undefined): string | undefined {
    if (authorization === undefined) return undefined;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (m === null) return undefined;
    const presented = sha256(m[1]!);
    let actor: string | undefined;
    for (const t of this.#tokens) {
      if (timingSafeEqual(presented, t.hash) && actor === undefined) actor = t.name;
    }
    return actor;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
