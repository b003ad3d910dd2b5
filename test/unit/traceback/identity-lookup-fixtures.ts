// Traceback records for the query tests (identity lookup, admin API, CLI): real PASSporTs from the Signer, their
// call events as the B2BUA publishes them, written to a real SQLite file in a temporary directory.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TracebackCallEvent, TracebackEndEvent } from '../../../src/events.js';
import { passportDigest } from '../../../src/stir/ppt/index.js';
import { Signer } from '../../../src/stir/signer.js';
import { SqliteTracebackStore } from '../../../src/traceback/sqlite-store.js';

export const ORIGID = '0b3ad0e4-7e3c-4a4e-9a55-0c1b3f1e2d4c';
export const T0 = Date.parse('2026-12-07T10:00:00Z');

const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

/** A PASSporT signed at `timeMs` for orig -> dest: its Identity header value and JWS. */
export function signedIdentity(orig: string, dest: string, timeMs: number, origid = ORIGID) {
  const signer = new Signer({ privateKey: key, x5u: 'https://cert.example/sp.pem', clock: () => timeMs });
  const r = signer.signSync({ attest: 'A', origTn: orig, destTns: [dest], origid });
  if (!r.ok) throw new Error(r.code);
  return r;
}

/** The call event of a call we signed (role signed, customer acme on trunk acme-east). */
export function signedCall(
  key: string,
  timeMs: number,
  orig: string,
  dest: string,
  aCallId: string,
): TracebackCallEvent & { identity: string; jws: string } {
  const s = signedIdentity(orig, dest, timeMs);
  return {
    kind: 'call',
    key,
    time: timeMs,
    role: 'signed',
    trunk: 'acme-east',
    trunkRole: 'originating',
    customer: 'acme',
    source: { address: '192.0.2.10', port: 5060, transport: 'udp' },
    aCallId,
    bCallId: `b-${aCallId}`,
    nextHop: 'udp:127.0.0.1:5080',
    calling: { received: `+${orig}`, canonical: orig },
    called: { received: `+${dest}`, canonical: dest },
    signed: { attest: 'A', origid: ORIGID, iat: s.claims.iat, digest: passportDigest(s.jws) },
    identity: s.identity,
    jws: s.jws,
  };
}

/** The call event of a call we verified: the upstream signer's SPC and the PASSporT's claims. */
export function verifiedCall(
  key: string,
  timeMs: number,
  orig: string,
  dest: string,
  aCallId: string,
  iat: number,
  origid: string,
): TracebackCallEvent {
  return {
    kind: 'call',
    key,
    time: timeMs,
    role: 'verified',
    trunk: 'upstream-carrier',
    trunkRole: 'terminating',
    customer: undefined,
    source: { address: '198.51.100.7', port: 5061, transport: 'tcp' },
    aCallId,
    bCallId: `b-${aCallId}`,
    nextHop: 'udp:127.0.0.1:5090',
    calling: { received: orig, canonical: orig },
    called: { received: dest, canonical: dest },
    verified: {
      code: 'passed',
      verstat: 'TN-Validation-Passed',
      attest: 'B',
      origid,
      iat,
      x5u: 'https://upstream.example/cert.pem',
      spc: '567J',
      subject: 'CN=SHAKEN 567J',
    },
  };
}

export function ended(key: string, timeMs: number): TracebackEndEvent {
  return { kind: 'end', key, time: timeMs, answered: true, status: 200, durationMs: 42_000, cause: 'bye' };
}

/** A real store file holding `events`; `cleanup` removes the directory. */
export async function storeFileWith(events: Parameters<SqliteTracebackStore['write']>[0]) {
  const dir = await mkdtemp(join(tmpdir(), 'stirgate-tb-query-'));
  const file = join(dir, 'traceback.db');
  const store = SqliteTracebackStore.open(file);
  await store.write(events);
  return { dir, file, store, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
