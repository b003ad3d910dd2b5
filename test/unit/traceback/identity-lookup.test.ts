import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityInputError, lookupIdentity, passportIn } from '../../../src/traceback/identity-lookup.js';
import type { SqliteTracebackStore } from '../../../src/traceback/sqlite-store.js';
import {
  ORIGID,
  signedCall,
  signedIdentity,
  storeFileWith,
  T0,
  verifiedCall,
} from './identity-lookup-fixtures.js';

const signed = signedCall('run-1', T0, '12025550100', '12025550199', 'call-a@192.0.2.10');
// A PASSporT signed upstream (another key, another origid) that this element verified.
const UPSTREAM_ORIGID = '9f1c2a77-1111-4222-8333-944455556666';
const upstream = signedIdentity('13035550111', '12025550199', T0 + 60_000, UPSTREAM_ORIGID);
const verified = verifiedCall(
  'run-2',
  T0 + 60_500,
  '13035550111',
  '12025550199',
  'up-1@198.51.100.7',
  upstream.claims.iat,
  UPSTREAM_ORIGID,
);

let store: SqliteTracebackStore;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const s = await storeFileWith([signed, verified]);
  store = s.store;
  cleanup = s.cleanup;
});
afterAll(async () => {
  await store.close();
  await cleanup();
});

function sipMessage(...identities: string[]): string {
  return [
    'INVITE sip:+12025550199@127.0.0.1:5080 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1',
    'From: <sip:+12025550100@127.0.0.1>;tag=1',
    'To: <sip:+12025550199@127.0.0.1>',
    'Call-ID: b-call-a@192.0.2.10',
    'CSeq: 1 INVITE',
    ...identities.map((v) => `Identity: ${v}`),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('lookupIdentity', () => {
  it('finds a PASSporT we signed by its digest', async () => {
    const r = await lookupIdentity(signed.identity, store, 10);
    if (r instanceof IdentityInputError) throw r;
    expect(r.matchedBy).toBe('digest');
    expect(r.records.map((x) => [x.id, x.customer, x.trunk, x.source.address, x.callId])).toEqual([
      ['run-1', 'acme', 'acme-east', '192.0.2.10', 'call-a@192.0.2.10'],
    ]);
    expect(r.claims?.origid).toBe(ORIGID);
  });

  it('finds it in a whole SIP message, picking the ppt=shaken one among several Identity fields', async () => {
    const div = signed.identity.replace(';ppt=shaken', ';ppt=div');
    const text = sipMessage(div, signed.identity);
    const r = await lookupIdentity(text, store, 10);
    if (r instanceof IdentityInputError) throw r;
    expect([r.matchedBy, r.records[0]?.id]).toEqual(['digest', 'run-1']);
  });

  it('finds a PASSporT we verified by its claims (origid, iat, numbers), naming the upstream SPC', async () => {
    const r = await lookupIdentity(upstream.identity, store, 10);
    if (r instanceof IdentityInputError) throw r;
    expect(r.matchedBy).toBe('claims');
    expect(r.records.map((x) => [x.id, x.trunk, x.verified?.spc])).toEqual([
      ['run-2', 'upstream-carrier', '567J'],
    ]);
  });

  it('a PASSporT on no record matches nothing, and says so with the decoded PASSporT', async () => {
    const other = signedIdentity('12025550100', '12025550199', T0 + 3_600_000);
    const r = await lookupIdentity(other.identity, store, 10);
    if (r instanceof IdentityInputError) throw r;
    expect([r.matchedBy, r.records.length, r.truncated]).toEqual(['none', 0, false]);
    expect(r.claims?.iat).toBe(other.claims.iat);
    expect(r.unsearchable).toBeUndefined();
  });

  it('a compact form that matches no digest is unsearchable, and says why', async () => {
    const [h, , sig] = signed.jws.split('.');
    const r = await lookupIdentity(`${h}..${sig};info=<https://cert.example/sp.pem>;ppt=shaken`, store, 10);
    if (r instanceof IdentityInputError) throw r;
    expect([r.matchedBy, r.unsearchable?.code]).toEqual(['none', 'compact_form']);
  });

  it('a value wrapped over several lines by a mail client still decodes', async () => {
    const wrapped = signed.identity.replace(/(.{60})/g, '$1\n  ');
    const r = await lookupIdentity(wrapped, store, 10);
    if (r instanceof IdentityInputError) throw r;
    expect(r.matchedBy).toBe('digest');
  });
});

describe('passportIn: text without a readable PASSporT', () => {
  it.each([
    ['a SIP message without Identity', sipMessage(), 'no_identity'],
    ['only ppt=div fields', sipMessage('a.b.c;ppt=div', 'd.e.f;ppt=rcd'), 'no_shaken_identity'],
    [
      'a malformed field next to a div one',
      sipMessage('eyJhbGciOiJFUzI1NiJ9.e30;ppt=shaken', 'a.b.c;ppt=div'),
      'jws_malformed',
    ],
    ['prose', 'please trace this call', 'not_identity_header'],
    ['a header whose JSON is broken', 'Identity: bm90IGpzb24.e30.c2ln;ppt=shaken', 'jws_bad_json'],
  ])('%s', (_why, text, code) => {
    const r = passportIn(text);
    expect(r instanceof IdentityInputError && r.code).toBe(code);
  });
});
