import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TracebackCallEvent, TracebackEndEvent } from '../../../src/events.js';

/** Call and end events shaped like the B2BUA's (test/unit/b2bua/traceback-events.test.ts). */

export const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
export const ORIGID = '123e4567-e89b-12d3-a456-426655440000';

export function signedCall(n: number, over: Partial<TracebackCallEvent> = {}): TracebackCallEvent {
  return {
    kind: 'call',
    key: `a1b2c3d4e5f6-${n}`,
    time: T0 + n * 1000,
    role: 'signed',
    trunk: 'acme-pbx',
    trunkRole: 'originating',
    customer: 'acme',
    source: { address: '192.0.2.10', port: 5060, transport: 'udp' },
    aCallId: `a-leg-${n}@192.0.2.10`,
    bCallId: `b-leg-${n}@stirgate`,
    nextHop: 'udp:198.51.100.7:5060',
    calling: { received: '2025550100', canonical: '12025550100' },
    called: { received: '+1 202 555 0199', canonical: '12025550199' },
    signed: { attest: 'A', origid: ORIGID, iat: Math.floor((T0 + n * 1000) / 1000), digest: `digest-${n}` },
    ...over,
  };
}

export function verifiedCall(n: number, over: Partial<TracebackCallEvent> = {}): TracebackCallEvent {
  return {
    kind: 'call',
    key: `a1b2c3d4e5f6-v${n}`,
    time: T0 + n * 1000,
    role: 'verified',
    trunk: 'peer',
    trunkRole: 'terminating',
    customer: undefined,
    source: { address: '2001:db8::5', port: 5070, transport: 'tcp' },
    aCallId: `up-${n}@carrier.example`,
    bCallId: `b-v${n}@stirgate`,
    nextHop: 'tcp:[2001:db8::9]:5060',
    calling: { received: '+12025550123', canonical: '12025550123' },
    called: { received: '12025550188', canonical: '12025550188' },
    verified: {
      code: 'passed',
      verstat: 'TN-Validation-Passed',
      attest: 'B',
      origid: 'de305d54-75b4-431b-adb2-eb6b9e546014',
      iat: Math.floor((T0 + n * 1000) / 1000) - 2,
      x5u: 'https://cert.carrier.example/sp.pem',
      spc: '1234',
      subject: 'CN=SHAKEN 1234, O=Carrier Example',
    },
    ...over,
  };
}

export function refusedInvite(n: number): TracebackCallEvent {
  return {
    kind: 'call',
    key: `a1b2c3d4e5f6-r${n}`,
    time: T0 + n * 1000,
    role: 'refused',
    trunk: '',
    trunkRole: 'unmatched',
    customer: undefined,
    source: { address: '203.0.113.66', port: 5061, transport: 'udp' },
    aCallId: `scan-${n}@203.0.113.66`,
    bCallId: undefined,
    nextHop: undefined,
    calling: { received: 'anonymous', canonical: undefined },
    called: { received: undefined, canonical: undefined },
    refused: { status: 403, cause: 'unknown_source' },
  };
}

export function endOf(call: TracebackCallEvent, over: Partial<TracebackEndEvent> = {}): TracebackEndEvent {
  return {
    kind: 'end',
    key: call.key,
    time: call.time + 65_000,
    answered: true,
    status: 200,
    durationMs: 60_000,
    cause: 'bye',
    ...over,
  };
}

/** A fresh directory under the OS tmp dir; `cleanup` removes it. */
export function tmpDir(): { dir: string; file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'stirgate-tb-'));
  return {
    dir,
    file: join(dir, 'traceback.db'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
