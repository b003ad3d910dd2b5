/**
 * Fresh Identity headers for the verification steps. Each step's caller reads one PASSporT per call from
 * a SIPp injection file (-inf, SEQUENTIAL), written just before the step so every `iat` is seconds old when
 * its call is placed (RFC 8224 §6.2.1 freshness; Stirgate's max_age_s is 60). Every token is distinct (ES256
 * signatures are randomised), so replay detection never fires. Both elements get the same kind of file, so
 * the caller's cost is the same whichever element it drives.
 */

import type { KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { Signer } from '../../src/stir/signer.js';

export interface TokenFileOptions {
  readonly file: string;
  readonly count: number;
  readonly privateKey: KeyObject;
  readonly x5u: string;
  readonly origTn: string;
  readonly destTn: string;
  readonly origid: string;
}

/** SIPp injection file: `SEQUENTIAL`, then `<jws>;<x5u>` per call (uac-identity.xml: field0, field1). */
export async function writeIdentityFile(o: TokenFileOptions): Promise<{ count: number; ms: number }> {
  const t0 = performance.now();
  const signer = new Signer({ privateKey: o.privateKey, x5u: o.x5u });
  const input = { attest: 'A' as const, origTn: o.origTn, destTns: [o.destTn], origid: o.origid };
  const out = createWriteStream(o.file);
  out.write('SEQUENTIAL\n');
  const BATCH = 256;
  for (let done = 0; done < o.count; done += BATCH) {
    const n = Math.min(BATCH, o.count - done);
    const results = await Promise.all(Array.from({ length: n }, () => signer.sign(input)));
    let chunk = '';
    for (const r of results) {
      if (!r.ok) throw new Error(`token signing failed: ${r.code}`);
      chunk += `${r.jws};${o.x5u}\n`;
    }
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { count: o.count, ms: performance.now() - t0 };
}
