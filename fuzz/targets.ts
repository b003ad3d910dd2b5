import type { FuzzTarget, FuzzTargetName } from './fuzz-target.js';
import { adminJson } from './targets/admin-json.js';
import { configLoader } from './targets/config-loader.js';
import { identityHeader } from './targets/identity-header.js';
import { passportDecode } from './targets/passport-decode.js';
import { sipParser } from './targets/sip-parser.js';
import { tcpFraming } from './targets/tcp-framing.js';

/** Every target, by name (the crasher folders are named the same). */
export const TARGETS = {
  'sip-parser': sipParser,
  'tcp-framing': tcpFraming,
  'identity-header': identityHeader,
  'passport-decode': passportDecode,
  'config-loader': configLoader,
  'admin-json': adminJson,
} as const satisfies Record<FuzzTargetName, FuzzTarget>;

export const TARGET_NAMES = Object.keys(TARGETS) as FuzzTargetName[];

export function isTargetName(s: string): s is FuzzTargetName {
  return Object.hasOwn(TARGETS, s);
}
