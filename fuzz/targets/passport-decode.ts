import { decodePassport, PptDecodeError } from '../../src/stir/ppt/decode-passport.js';
import { passportDigest } from '../../src/stir/ppt/digest.js';
import { shakenClaims } from '../../src/stir/ppt/shaken.js';
import { IdentityInputError, passportIn } from '../../src/traceback/identity-lookup.js';
import { type FuzzTarget, invariant } from '../fuzz-target.js';
import { mutationsOf } from '../mutate.js';
import { IDENTITY_SPECIAL, identitySeeds } from './identity-seeds.js';

/**
 * PASSporT decoding without verification (src/stir/ppt: RFC 8225, RFC 8588) and the traceback lookup's
 * reading of pasted text (a header value or a whole SIP message). Declared errors: PptDecodeError and
 * IdentityInputError, returned, never thrown. Invariants: a decoded PASSporT in full form has an object
 * payload and a digest; SHAKEN claims read from it have the JSON types they promise.
 */
export const passportDecode: FuzzTarget = {
  name: 'passport-decode',
  about:
    'decodePassport, shakenClaims, passportDigest, passportIn (pasted text); errors returned, never thrown',
  inputs: mutationsOf(identitySeeds(), IDENTITY_SPECIAL),
  run(input) {
    const text = input.toString('utf8');
    const d = decodePassport(text);
    if (!(d instanceof PptDecodeError)) {
      invariant(typeof d.header === 'object' && d.header !== null, 'decoded header is not an object');
      invariant(
        d.compactForm === (d.claims === undefined),
        'compactForm disagrees with the presence of claims',
      );
      invariant(typeof passportDigest(d.token) === 'string', 'no digest');
      const c = shakenClaims(d);
      if (!(c instanceof PptDecodeError)) {
        invariant(
          typeof c.attest === 'string' &&
            typeof c.origid === 'string' &&
            typeof c.orig === 'string' &&
            Number.isFinite(c.iat) &&
            Array.isArray(c.dest) &&
            c.dest.every((t) => typeof t === 'string'),
          'SHAKEN claims of the wrong JSON type',
        );
      }
    }
    const pasted = passportIn(text);
    invariant(
      pasted instanceof IdentityInputError || typeof pasted.token === 'string',
      'passportIn returned neither a PASSporT nor an IdentityInputError',
    );
  },
};
