import { generateKeyPairSync, sign } from 'node:crypto';

const b64url = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

/** One ES256 JWS compact serialisation (RFC 7515 §7.1) of a PASSporT (RFC 8225), signed with a throwaway key. */
function jws(header: object, payload: object): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const sig = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(sig)}`;
}

/** Identity header values and a SIP message carrying them: SHAKEN full and compact form, div, several on a line. */
export function identitySeeds(): Uint8Array[] {
  const x5u = 'https://certs.example.test/sp.pem';
  const shaken = jws(
    { alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u },
    {
      attest: 'A',
      dest: { tn: ['12025550199'] },
      iat: 1_796_620_691,
      orig: { tn: '12025550100' },
      origid: 'b8bc9d21-4e6d-4f2b-a7fd-6af5a1a0ffdf',
    },
  );
  const div = jws(
    { alg: 'ES256', ppt: 'div', typ: 'passport', x5u },
    {
      dest: { tn: ['12025550188'] },
      div: { tn: '12025550199' },
      iat: 1_796_620_691,
      orig: { tn: '12025550100' },
    },
  );
  const [h, , s] = shaken.split('.');
  const full = `${shaken};info=<${x5u}>;alg=ES256;ppt=shaken`;
  const values = [
    full,
    `${h}..${s};info=<${x5u}>;alg=ES256;ppt="shaken"`,
    `${div};info=<${x5u}>;alg=ES256;ppt=div, ${full}`,
    shaken,
    [
      'INVITE sip:+12025550199@example.test SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1',
      `Identity: ${div};info=<${x5u}>;ppt=div`,
      `Identity: ${full}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  ];
  return values.map((v) => new Uint8Array(Buffer.from(v, 'utf8')));
}

/** Bytes that matter to RFC 8224 §4.1 and RFC 7515: separators, base64url alphabet edges, quotes, JSON. */
export const IDENTITY_SPECIAL = [
  0x2e, 0x3b, 0x3d, 0x2c, 0x3c, 0x3e, 0x22, 0x5c, 0x20, 0x09, 0x0d, 0x0a, 0x2d, 0x5f, 0x2b, 0x2f, 0x3d, 0x7b,
  0x7d, 0x00, 0xff,
];
