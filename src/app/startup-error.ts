import { StirgateError } from '../errors.js';

/**
 * Why the element refused to start (docs/errors.md "Start-up errors"): `signing_material` (key/certificate),
 * `trust_roots` (STI-CA directory), `data_dir` (cannot create it, or a file in it is unreadable or corrupt,
 * e.g. `origids.json`), `listen` (a SIP, metrics or x5u socket cannot bind).
 */
export type StartupErrorCode = 'signing_material' | 'trust_roots' | 'data_dir' | 'listen';

/** Error at start-up with a stable code (the message names the key or file). */
export class StartupError extends StirgateError<StartupErrorCode> {}
