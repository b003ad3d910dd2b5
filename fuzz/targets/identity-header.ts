import {
  parseIdentityHeader,
  selectShakenIdentity,
  splitIdentityValues,
} from '../../src/stir/identity-header.js';
import { type FuzzTarget, invariant } from '../fuzz-target.js';
import { mutationsOf } from '../mutate.js';
import { IDENTITY_SPECIAL, identitySeeds } from './identity-seeds.js';

const DIGEST = /^[A-Za-z0-9_.-]+$/;

/**
 * RFC 8224 §4.1 Identity header values (parseIdentityHeader, splitIdentityValues, selectShakenIdentity).
 * Declared error: none (they return `malformed`). Invariants: a parsed token is non-empty base64url-and-dots;
 * `compact` means an empty middle section; splitting never loses a character but the separating commas.
 */
export const identityHeader: FuzzTarget = {
  name: 'identity-header',
  about: 'parseIdentityHeader, splitIdentityValues, selectShakenIdentity on header text; never throws',
  inputs: mutationsOf(identitySeeds(), IDENTITY_SPECIAL),
  run(input) {
    const value = input.toString('latin1');
    const p = parseIdentityHeader(value);
    if (!('error' in p)) {
      invariant(
        DIGEST.test(p.token),
        `token ${JSON.stringify(p.token.slice(0, 40))} is not base64url and dots`,
      );
      invariant(p.compact === (p.token.split('.')[1] === ''), 'compact flag disagrees with the token');
    }
    const parts = splitIdentityValues(value);
    invariant(parts.join(',') === value, 'splitIdentityValues lost characters');
    const picked = selectShakenIdentity([value, value]);
    invariant(
      picked === undefined || picked === 'malformed' || DIGEST.test(picked.token),
      'selectShakenIdentity picked an unreadable token',
    );
  },
};
